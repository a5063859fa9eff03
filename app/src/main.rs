fn main() {
    println!("airlock: not yet built");
}
