//! What must not compile: a handler missing a route's method (the error names
//! the method), calling a secured method without a `Principal`, and making a
//! `Principal` without the token check.

#[test]
fn contract_violations_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile-fail/*.rs");
}
