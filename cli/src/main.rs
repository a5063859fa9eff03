fn main() {
    println!("airlockctl: not yet built");
}
