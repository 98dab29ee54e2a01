pub fn hello(who: &str) -> String {
    format!("hello from the {who}")
}
