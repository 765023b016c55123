//! A validator for the subset of JSON Schema (2020-12, as OpenAPI 3.1 uses it) that
//! `api/openapi.json` uses: `$ref` (local), `type` (one or several), `enum`, `const`,
//! `properties`, `required`, `additionalProperties: false`, `items`, `oneOf`, `pattern`,
//! `minimum`, `maximum`, `maxItems`, `maxLength`. Any other keyword is reported as an error
//! rather than ignored, so the document cannot grow constraints this checker silently skips.
//! Hand-written: the `jsonschema` crate's tree is far larger than this file.

use regex::Regex;
use serde_json::Value;

/// Keywords that only annotate (no constraint to check).
const ANNOTATIONS: [&str; 5] = ["description", "default", "examples", "format", "title"];

/// Validates values against schemas of one document (the `$ref` root).
pub struct Validator<'a> {
    root: &'a Value,
}

impl<'a> Validator<'a> {
    /// Over `root`, the whole OpenAPI document.
    pub fn new(root: &'a Value) -> Self {
        Validator { root }
    }

    /// Resolves a local `$ref` (`#/a/b`).
    pub fn resolve(&self, reference: &str) -> Option<&'a Value> {
        self.root.pointer(reference.strip_prefix('#')?)
    }

    /// Every violation of `schema` by `value`, as `path: problem` (empty when valid).
    pub fn errors(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, value, "$", &mut errors);
        errors
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let Some(keywords) = schema.as_object() else {
            errors.push(format!("{at}: schema is not an object: {schema}"));
            return;
        };
        for (keyword, arg) in keywords {
            match keyword.as_str() {
                "$ref" => match arg.as_str().and_then(|r| self.resolve(r)) {
                    Some(target) => self.check(target, value, at, errors),
                    None => errors.push(format!("{at}: unresolved $ref {arg}")),
                },
                "type" => {
                    let types: Vec<&str> = match arg {
                        Value::String(t) => vec![t.as_str()],
                        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                        _ => vec![],
                    };
                    if !types.iter().any(|t| has_type(value, t)) {
                        errors.push(format!("{at}: {value} is not of type {arg}"));
                    }
                }
                "enum" => {
                    if !arg
                        .as_array()
                        .is_some_and(|options| options.contains(value))
                    {
                        errors.push(format!("{at}: {value} is not one of {arg}"));
                    }
                }
                "const" => {
                    if arg != value {
                        errors.push(format!("{at}: {value} is not {arg}"));
                    }
                }
                "properties" => {
                    if let (Some(props), Some(object)) = (arg.as_object(), value.as_object()) {
                        for (name, sub) in props {
                            if let Some(v) = object.get(name) {
                                self.check(sub, v, &format!("{at}.{name}"), errors);
                            }
                        }
                    }
                }
                "required" => {
                    if let Some(object) = value.as_object() {
                        for name in arg
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                        {
                            if !object.contains_key(name) {
                                errors.push(format!("{at}: missing required field {name:?}"));
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    if arg != &Value::Bool(false) {
                        errors.push(format!(
                            "{at}: only additionalProperties: false is supported"
                        ));
                    } else if let Some(object) = value.as_object() {
                        let known = keywords.get("properties").and_then(Value::as_object);
                        for name in object.keys() {
                            if !known.is_some_and(|k| k.contains_key(name)) {
                                errors.push(format!("{at}: undocumented field {name:?}"));
                            }
                        }
                    }
                }
                "items" => {
                    for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                        self.check(arg, item, &format!("{at}[{i}]"), errors);
                    }
                }
                "oneOf" => {
                    let matching = arg
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|sub| self.errors(sub, value).is_empty())
                        .count();
                    if matching != 1 {
                        errors.push(format!("{at}: {value} matches {matching} of oneOf, not 1"));
                    }
                }
                "pattern" => {
                    if let Some(text) = value.as_str() {
                        match arg.as_str().map(Regex::new) {
                            Some(Ok(re)) if re.is_match(text) => {}
                            Some(Ok(_)) => {
                                errors.push(format!("{at}: {text:?} does not match {arg}"))
                            }
                            _ => errors.push(format!("{at}: bad pattern {arg}")),
                        }
                    }
                }
                "minimum" | "maximum" => {
                    if let (Some(bound), Some(n)) = (arg.as_f64(), value.as_f64()) {
                        let ok = if keyword == "minimum" {
                            n >= bound
                        } else {
                            n <= bound
                        };
                        if !ok {
                            errors.push(format!("{at}: {n} breaks {keyword} {bound}"));
                        }
                    }
                }
                "maxItems" => {
                    if let (Some(max), Some(items)) = (arg.as_u64(), value.as_array()) {
                        if items.len() as u64 > max {
                            errors
                                .push(format!("{at}: {} items, over maxItems {max}", items.len()));
                        }
                    }
                }
                "maxLength" => {
                    if let (Some(max), Some(text)) = (arg.as_u64(), value.as_str()) {
                        if text.chars().count() as u64 > max {
                            errors.push(format!("{at}: longer than maxLength {max}"));
                        }
                    }
                }
                other if ANNOTATIONS.contains(&other) => {}
                other => errors.push(format!("{at}: unsupported keyword {other:?}")),
            }
        }
    }
}

fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

/// Keywords [`Validator`] checks.
const CHECKED: [&str; 14] = [
    "$ref",
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "oneOf",
    "pattern",
    "minimum",
    "maximum",
    "maxItems",
    "maxLength",
];

/// Keywords of `schema` and every schema nested in it that the validator would not check.
pub fn unsupported_keywords(schema: &Value, at: &str, out: &mut Vec<String>) {
    let Some(keywords) = schema.as_object() else {
        out.push(format!("{at}: not a schema object"));
        return;
    };
    for (keyword, arg) in keywords {
        if !CHECKED.contains(&keyword.as_str()) && !ANNOTATIONS.contains(&keyword.as_str()) {
            out.push(format!("{at}: {keyword}"));
        }
        match keyword.as_str() {
            "properties" => {
                for (name, sub) in arg.as_object().into_iter().flatten() {
                    unsupported_keywords(sub, &format!("{at}.{name}"), out);
                }
            }
            "items" => unsupported_keywords(arg, &format!("{at}[]"), out),
            "oneOf" => {
                for (i, sub) in arg.as_array().into_iter().flatten().enumerate() {
                    unsupported_keywords(sub, &format!("{at}|{i}"), out);
                }
            }
            _ => {}
        }
    }
}
