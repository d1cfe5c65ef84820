//! The fields a lesson file may have, read from the parser's own serde structs.
//!
//! A lesson file is read by `#[derive(Deserialize)]` structs. Here a deserializer
//! of ours walks those structs without any file: serde's derive tells it each
//! struct's name and fields, and it answers every field with a placeholder,
//! descending into tables, arrays of tables and optional values. So the list
//! cannot drift from the parser, and a field added to a struct appears in it at
//! once (tests/pkg_docs.rs compares it with docs/lessons.md).
//!
//! It also finds out, for each table, whether the parser refuses a field it does
//! not know (`#[serde(deny_unknown_fields)]`): it offers an extra key first and
//! sees whether the struct refuses it.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, Visitor};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Every field of a lesson file, as dotted paths (`title`, `knob.name`,
/// `verdict.right`), with the struct behind each table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// Every field, as a dotted path from the top of the file. An array of tables
    /// (`[[knob]]`) is one path (`knob`) and its fields are below it.
    pub fields: BTreeSet<String>,
    /// The paths that are tables, with the name of the struct that reads them
    /// (`"" → "RawLesson"`, `"title" → "Text"`).
    pub tables: BTreeMap<String, &'static str>,
    /// Tables that accept (and ignore) a field they do not know. Empty when every
    /// table refuses unknown fields.
    pub lenient: BTreeSet<String>,
}

/// A key no lesson struct has: offered first to see whether a struct refuses it.
const UNKNOWN_KEY: &str = "zz-no-such-field";
/// The struct name `toml::Spanned` asks for; it wraps a value and its position.
const SPANNED: &str = "$__serde_spanned_private_Spanned";

/// The fields of `T` (a struct read with serde), found without any input.
pub fn of<'de, T: de::Deserialize<'de>>() -> Result<FieldSet, String> {
    let mut refusing = BTreeSet::new();
    // One struct that refuses the extra key ends one walk; the next walk does not
    // offer it that key again. There are only a handful of structs.
    for _ in 0..1000 {
        let found = RefCell::new(Found {
            set: FieldSet::default(),
            refusing: refusing.clone(),
            refused_now: None,
        });
        let walk = T::deserialize(Walker {
            path: "",
            found: &found,
        });
        let found = found.into_inner();
        match (walk, found.refused_now) {
            (Ok(_), _) => return Ok(found.set),
            (Err(_), Some(path)) => {
                refusing.insert(path);
            }
            (Err(e), None) => return Err(e.0),
        }
    }
    Err("the lesson structs could not be walked".into())
}

struct Found {
    set: FieldSet,
    /// Tables known to refuse unknown fields: not offered the extra key again.
    refusing: BTreeSet<String>,
    /// The table that refused the extra key in this walk.
    refused_now: Option<String>,
}

#[derive(Debug)]
pub struct WalkError(String);

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WalkError {}

impl de::Error for WalkError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        WalkError(msg.to_string())
    }
}

/// Deserializes any value at `path` with a placeholder, recording what it sees.
#[derive(Clone, Copy)]
struct Walker<'a> {
    path: &'a str,
    found: &'a RefCell<Found>,
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

macro_rules! placeholder {
    ($($method:ident => $visit:ident($($value:expr)?)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WalkError> {
            visitor.$visit($($value)?)
        })*
    };
}

impl<'de> Deserializer<'de> for Walker<'_> {
    type Error = WalkError;

    placeholder! {
        deserialize_any => visit_bool(false),
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i64(0),
        deserialize_i16 => visit_i64(0),
        deserialize_i32 => visit_i64(0),
        deserialize_i64 => visit_i64(0),
        deserialize_u8 => visit_u64(0),
        deserialize_u16 => visit_u64(0),
        deserialize_u32 => visit_u64(0),
        deserialize_u64 => visit_u64(0),
        deserialize_f32 => visit_f64(0.0),
        deserialize_f64 => visit_f64(0.0),
        deserialize_char => visit_char('x'),
        deserialize_str => visit_borrowed_str(""),
        deserialize_string => visit_borrowed_str(""),
        deserialize_bytes => visit_borrowed_bytes(&[]),
        deserialize_byte_buf => visit_borrowed_bytes(&[]),
        deserialize_unit => visit_unit(),
        deserialize_identifier => visit_borrowed_str(""),
        deserialize_ignored_any => visit_unit(),
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WalkError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, WalkError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, WalkError> {
        visitor.visit_newtype_struct(self)
    }

    /// An array: one element, so that an array of tables shows its fields.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WalkError> {
        visitor.visit_seq(Elements {
            walker: self,
            left: 1,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, WalkError> {
        visitor.visit_seq(Elements {
            walker: self,
            left: len,
        })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, WalkError> {
        self.deserialize_tuple(len, visitor)
    }

    /// A table whose keys the file chooses (`verdict.names`): nothing below it
    /// is a field.
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, WalkError> {
        visitor.visit_map(de::value::MapDeserializer::new(std::iter::empty::<(
            &str,
            &str,
        )>()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, WalkError> {
        if name == SPANNED {
            // A position around a value: the value is the field, at the same path.
            return visitor.visit_map(Table {
                walker: self,
                keys: fields.to_vec(),
                at: 0,
                spanned: true,
            });
        }
        let mut keys = Vec::with_capacity(fields.len() + 1);
        {
            let mut f = self.found.borrow_mut();
            f.set.tables.insert(self.path.to_string(), name);
            if !f.refusing.contains(self.path) {
                keys.push(UNKNOWN_KEY);
            }
        }
        keys.extend_from_slice(fields);
        visitor.visit_map(Table {
            walker: self,
            keys,
            at: 0,
            spanned: false,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, WalkError> {
        let first = variants
            .first()
            .ok_or_else(|| WalkError("an enum without variants".into()))?;
        visitor.visit_enum(Variant {
            walker: self,
            name: first,
        })
    }
}

struct Elements<'a> {
    walker: Walker<'a>,
    left: usize,
}

impl<'de> de::SeqAccess<'de> for Elements<'_> {
    type Error = WalkError;
    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, WalkError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(self.walker).map(Some)
    }
}

struct Table<'a> {
    walker: Walker<'a>,
    keys: Vec<&'static str>,
    at: usize,
    /// `toml::Spanned`'s own keys: not fields of the file.
    spanned: bool,
}

impl<'de> de::MapAccess<'de> for Table<'_> {
    type Error = WalkError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, WalkError> {
        let Some(&key) = self.keys.get(self.at) else {
            return Ok(None);
        };
        let path = self.walker.path;
        let found = self.walker.found;
        let k = seed.deserialize(BorrowedStrDeserializer::<WalkError>::new(key));
        if key == UNKNOWN_KEY && !self.spanned {
            let mut f = found.borrow_mut();
            if k.is_err() {
                f.refused_now = Some(path.to_string());
            } else {
                f.set.lenient.insert(path.to_string());
            }
        } else if !self.spanned {
            found.borrow_mut().set.fields.insert(join(path, key));
        }
        k.map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, WalkError> {
        let key = self.keys.get(self.at).copied().unwrap_or_default();
        self.at += 1;
        if self.spanned {
            // `start` and `end` are numbers; the value is the field itself.
            if key.ends_with("_value") {
                return seed.deserialize(self.walker);
            }
            return seed.deserialize(0u64.into_deserializer());
        }
        let path = join(self.walker.path, key);
        seed.deserialize(Walker {
            path: &path,
            found: self.walker.found,
        })
    }
}

struct Variant<'a> {
    walker: Walker<'a>,
    name: &'static str,
}

impl<'de, 'a> de::EnumAccess<'de> for Variant<'a> {
    type Error = WalkError;
    type Variant = Walker<'a>;
    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Walker<'a>), WalkError> {
        let v = seed.deserialize(BorrowedStrDeserializer::<WalkError>::new(self.name))?;
        Ok((v, self.walker))
    }
}

impl<'de> de::VariantAccess<'de> for Walker<'_> {
    type Error = WalkError;
    fn unit_variant(self) -> Result<(), WalkError> {
        Ok(())
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, WalkError> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, WalkError> {
        self.deserialize_tuple(len, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, WalkError> {
        self.deserialize_struct("variant", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        a: String,
        #[serde(rename = "item")]
        items: Vec<Loose>,
        maybe: Option<toml::Spanned<Loose>>,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Loose {
        x: i64,
    }

    #[test]
    fn finds_nested_fields_and_which_tables_ignore_unknown_ones() {
        let f = of::<Strict>().unwrap();
        let fields: Vec<&str> = f.fields.iter().map(String::as_str).collect();
        assert_eq!(fields, ["a", "item", "item.x", "maybe", "maybe.x"]);
        assert_eq!(f.tables[""], "Strict");
        assert_eq!(f.tables["item"], "Loose");
        let lenient: Vec<&str> = f.lenient.iter().map(String::as_str).collect();
        assert_eq!(lenient, ["item", "maybe"]);
    }
}
