//! What must not compile: a handler group missing an operation's method (the
//! error names the method), calling a secured handler with an anonymous request
//! context, and making an authenticated one without the credential check.

#[test]
fn contract_violations_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile-fail/*.rs");
}
