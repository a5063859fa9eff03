fn main() {
    println!("airlockd: not yet built");
}
