//! A bilevel problem with boxes (or any [`Set`]) put on x or y: the constraints a user
//! adds to a built-in problem without writing a new one.

use super::{Batch, Bilevel, Set};
use crate::Result;

/// `inner` with its x set and/or y set replaced where given.
#[derive(Clone, Debug)]
pub struct Boxed<P> {
    /// The problem.
    pub inner: P,
    /// The set x is constrained to (`None`: the problem's own).
    pub x_set: Option<Set>,
    /// The set y is constrained to (`None`: the problem's own).
    pub y_set: Option<Set>,
}

impl<P: Bilevel> Boxed<P> {
    /// `inner` with the sets given; each is checked against the problem's dimensions.
    pub fn new(inner: P, x_set: Option<Set>, y_set: Option<Set>) -> Result<Self> {
        if let Some(s) = &x_set {
            s.validate(inner.dim_x(), "x set")?;
        }
        if let Some(s) = &y_set {
            s.validate(inner.dim_y(), "y set")?;
        }
        Ok(Self { inner, x_set, y_set })
    }
}

impl<P: Bilevel> Bilevel for Boxed<P> {
    fn dim_x(&self) -> usize {
        self.inner.dim_x()
    }
    fn dim_y(&self) -> usize {
        self.inner.dim_y()
    }
    fn f(&self, x: &[f64], y: &[f64]) -> f64 {
        self.inner.f(x, y)
    }
    fn g(&self, x: &[f64], y: &[f64]) -> f64 {
        self.inner.g(x, y)
    }
    fn grad_f_x(&self, x: &[f64], y: &[f64], b: Batch, o: &mut [f64]) {
        self.inner.grad_f_x(x, y, b, o)
    }
    fn grad_f_y(&self, x: &[f64], y: &[f64], b: Batch, o: &mut [f64]) {
        self.inner.grad_f_y(x, y, b, o)
    }
    fn grad_g_x(&self, x: &[f64], y: &[f64], b: Batch, o: &mut [f64]) {
        self.inner.grad_g_x(x, y, b, o)
    }
    fn grad_g_y(&self, x: &[f64], y: &[f64], b: Batch, o: &mut [f64]) {
        self.inner.grad_g_y(x, y, b, o)
    }
    fn x_set(&self) -> &Set {
        self.x_set.as_ref().unwrap_or(self.inner.x_set())
    }
    fn y_set(&self) -> &Set {
        self.y_set.as_ref().unwrap_or(self.inner.y_set())
    }
    fn upper_samples(&self) -> usize {
        self.inner.upper_samples()
    }
    fn lower_samples(&self) -> usize {
        self.inner.lower_samples()
    }
    fn hvp_yy(&self, x: &[f64], y: &[f64], v: &[f64], o: &mut [f64]) -> Result<()> {
        self.inner.hvp_yy(x, y, v, o)
    }
    fn hvp_xy(&self, x: &[f64], y: &[f64], v: &[f64], o: &mut [f64]) -> Result<()> {
        self.inner.hvp_xy(x, y, v, o)
    }
    fn start(&self) -> (Vec<f64>, Vec<f64>) {
        let (mut x, mut y) = self.inner.start();
        self.x_set().project(&mut x);
        self.y_set().project(&mut y);
        (x, y)
    }
}
