//! [`Exclusive`]: a value reachable only through `&mut`, which makes it `Sync` whatever
//! it holds. PyO3 requires every `#[pyclass]` to be `Sync`; the engine's detector and
//! facade types are `Send` only (user scorers are `Send` trait objects). A pyclass holds
//! them in an `Exclusive` and reaches them through PyO3's borrow flag (`&mut self`).

/// A `T` that can only be used through a unique reference.
#[derive(Debug, Default)]
pub struct Exclusive<T>(T);

// SAFETY: `Exclusive` gives no access to its `T` through `&Exclusive<T>` (there is no
// `&self` method that returns or uses the `T`), so sharing `&Exclusive<T>` between
// threads cannot touch the `T` concurrently; moving it across threads needs `T: Send`.
unsafe impl<T: Send> Sync for Exclusive<T> {}

impl<T> Exclusive<T> {
    /// Wrap `value`.
    pub fn new(value: T) -> Self {
        Exclusive(value)
    }

    /// The value, through the unique reference.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.0
    }
}
