//! One spelling per setting: enums whose variants front ends name by string (the
//! CLI's value parsers, the Python package, bench suites, JSON reports) implement
//! [`Named`], usually through [`crate::named_enum!`], so that every front end parses and
//! prints the same words and lists the same choices.

/// An enum of settings with one spelling per variant.
pub trait Named: Sized + Copy + PartialEq + 'static {
    /// What the setting is called in error messages (`"preconditioner"`).
    const WHAT: &'static str;
    /// Every variant, in the order front ends list them.
    const ALL: &'static [Self];
    /// The spelling of this variant.
    fn as_str(self) -> &'static str;
    /// The variant spelled `s`, if any.
    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == s)
    }
    /// Every spelling, in [`Named::ALL`]'s order.
    fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|v| v.as_str()).collect()
    }
    /// The variant spelled `s`, or an error listing the choices.
    fn parse_or_list(s: &str) -> Result<Self, String> {
        Self::parse(s).ok_or_else(|| {
            format!(
                "unknown {} `{s}` (choose from {})",
                Self::WHAT,
                Self::names().join(", ")
            )
        })
    }
}

/// Implements [`Named`] (and, as inherent items, its `ALL`, `as_str` and `parse`, so
/// callers need not import the trait), `Display`, `FromStr` and serde's `Serialize` (as
/// the spelling) for a field-less enum:
///
/// ```
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// enum Colour { Red, DarkBlue }
/// solvent_linalg::named_enum!(Colour, "colour" { Red => "red", DarkBlue => "dark-blue" });
///
/// use solvent_linalg::names::Named;
/// assert_eq!("dark-blue".parse::<Colour>(), Ok(Colour::DarkBlue));
/// assert_eq!(Colour::Red.to_string(), "red");
/// assert!(Colour::parse_or_list("green").unwrap_err().contains("red, dark-blue"));
/// ```
#[macro_export]
macro_rules! named_enum {
    ($ty:ident, $what:literal { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $crate::names::Named for $ty {
            const WHAT: &'static str = $what;
            const ALL: &'static [Self] = &[$($ty::$variant),+];
            fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }
        #[allow(dead_code)]
        impl $ty {
            /// Every variant, in the order front ends list them.
            pub const ALL: &'static [Self] = <$ty as $crate::names::Named>::ALL;
            /// The spelling of this variant.
            pub fn as_str(self) -> &'static str {
                <$ty as $crate::names::Named>::as_str(self)
            }
            /// The variant spelled `s`, if any.
            pub fn parse(s: &str) -> Option<Self> {
                <$ty as $crate::names::Named>::parse(s)
            }
        }
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::names::Named::as_str(*self))
            }
        }
        impl ::std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> ::std::result::Result<Self, String> {
                <$ty as $crate::names::Named>::parse_or_list(s)
            }
        }
        impl $crate::serde::Serialize for $ty {
            fn serialize<S: $crate::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str($crate::names::Named::as_str(*self))
            }
        }
    };
}
