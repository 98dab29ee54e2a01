export interface Shape {
  readonly name: string;
  area(): number;
}

export class Rectangle implements Shape {
  readonly name = "rectangle";
  constructor(private readonly width: number, private readonly height: number) {}
  area(): number {
    return this.width * this.height;
  }
}

export class Circle implements Shape {
  readonly name = "circle";
  constructor(private readonly radius: number) {}
  area(): number {
    return Math.PI * this.radius ** 2;
  }
}

export function largest<T extends Shape>(shapes: readonly T[]): T | undefined {
  return shapes.reduce<T | undefined>((best, s) => (best === undefined || s.area() > best.area() ? s : best), undefined);
}
