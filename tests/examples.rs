//! Every program in `examples/` runs (and checks its own answer) as part of the test
//! suite, so none can rot.

#[path = "../examples/allocate_table.rs"]
mod allocate_table;
#[path = "../examples/complete_ratings.rs"]
mod complete_ratings;
#[path = "../examples/datagen_roundtrip.rs"]
mod datagen_roundtrip;
#[path = "../examples/lasso.rs"]
mod lasso;
#[path = "../examples/solve_triplets.rs"]
mod solve_triplets;

#[test]
fn solve_triplets() {
    solve_triplets::main().unwrap();
}

#[test]
fn datagen_roundtrip() {
    datagen_roundtrip::main().unwrap();
}

#[test]
fn lasso() {
    lasso::main().unwrap();
}

#[test]
fn complete_ratings() {
    complete_ratings::main().unwrap();
}

#[test]
fn allocate_table() {
    allocate_table::main().unwrap();
}
