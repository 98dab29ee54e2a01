fn main() {
    println!("{}", greeting::hello("workspace"));
}
