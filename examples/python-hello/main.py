"""Compiled by wasmrun's embedded Python compiler: `wasmrun run examples/python-hello`."""


def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def main() -> None:
    print("hello from Python")
    total = 0
    for i in range(1, 11):
        total += i * i
    print("sum of squares 1..10:", total)
    print("fib(20) =", fib(20), "and 7 / 2 =", 7 / 2, "and -7 // 2 =", -7 // 2)


if __name__ == "__main__":
    main()
