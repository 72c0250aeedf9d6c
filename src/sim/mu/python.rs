//! The Python front end: `remote-pyeval` (one expression, answered with
//! `str()` of its value) and `remote-pyexec` (statements run for their
//! effects), over the same commands as Mu, reached as `rv.commands.X` and
//! `rv.extra_commands.X` (RV's `rv/rvui.py` evaluates in a namespace where
//! only `rv` is imported).

use std::time::Instant;

use super::syntax::{self, BinOp, Dialect, ErrorKind, Expr, ParseError, Stmt};
use super::{
    CmdSpec, MAX_CODE_BYTES, MAX_DEPTH, MAX_STRING_BYTES, Module, Param, Session, Value,
    find_command, find_constant,
};

/// A Python exception, displayed as RV's `remotePyEval` reports it:
/// `<class 'NameError'>: name 'foo' is not defined`.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("<class '{class}'>: {message}")]
pub(super) struct PyError {
    pub class: &'static str,
    pub message: String,
}

fn raise<T>(class: &'static str, message: impl Into<String>) -> Result<T, PyError> {
    Err(PyError {
        class,
        message: message.into(),
    })
}

/// The modules reachable from `rv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PyModule {
    Rv,
    Commands,
    ExtraCommands,
}

impl PyModule {
    fn name(self) -> &'static str {
        match self {
            PyModule::Rv => "rv",
            PyModule::Commands => "rv.commands",
            PyModule::ExtraCommands => "rv.extra_commands",
        }
    }
}

/// A Python value.
#[derive(Clone, Debug, PartialEq)]
enum Py {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Py>),
    Module(PyModule),
    Func(&'static CmdSpec),
}

impl Py {
    fn type_name(&self) -> &'static str {
        match self {
            Py::None => "NoneType",
            Py::Bool(_) => "bool",
            Py::Int(_) => "int",
            Py::Float(_) => "float",
            Py::Str(_) => "str",
            Py::List(_) => "list",
            Py::Module(_) => "module",
            Py::Func(_) => "builtin_function_or_method",
        }
    }

    /// Python's `str()`.
    fn to_str(&self) -> String {
        match self {
            Py::None => "None".to_string(),
            Py::Bool(true) => "True".to_string(),
            Py::Bool(false) => "False".to_string(),
            Py::Int(i) => i.to_string(),
            Py::Float(f) => float_repr(*f),
            Py::Str(s) => s.clone(),
            Py::List(items) => {
                let items: Vec<String> = items.iter().map(Py::repr).collect();
                format!("[{}]", items.join(", "))
            }
            Py::Module(m) => format!("<module '{}'>", m.name()),
            Py::Func(spec) => format!("<built-in function {}>", spec.name),
        }
    }

    /// About how many bytes the value holds (a string's length; a few
    /// for anything else), for the limit on growing lists.
    fn size(&self) -> usize {
        match self {
            Py::Str(s) => s.len() + 4,
            Py::List(items) => items.iter().map(Py::size).sum::<usize>() + 2,
            _ => 8,
        }
    }

    /// Python's `repr()`.
    fn repr(&self) -> String {
        match self {
            Py::Str(s) => str_repr(s),
            other => other.to_str(),
        }
    }
}

/// Evaluates `remote-pyeval` contents and formats the RETURN payload.
pub(super) fn eval(session: &mut Session, code: &str, now: Instant) -> String {
    match eval_value(session, code, now) {
        Ok(Py::None) => String::new(),
        Ok(v) => v.to_str(),
        Err(e) => e.to_string(),
    }
}

fn eval_value(session: &mut Session, code: &str, now: Instant) -> Result<Py, PyError> {
    let stmts = parse(code)?;
    match stmts.as_slice() {
        [Stmt::Expr(e)] => Eval { session, now }.expr(e),
        [] => raise("SyntaxError", "invalid syntax (<string>, line 0)"),
        _ => raise("SyntaxError", "invalid syntax (<string>, line 1)"),
    }
}

/// Runs `remote-pyexec` contents, stopping at the first exception.
pub(super) fn exec(session: &mut Session, code: &str, now: Instant) -> Result<(), PyError> {
    let stmts = parse(code)?;
    let mut ev = Eval { session, now };
    for stmt in &stmts {
        if let Stmt::Expr(e) = stmt {
            ev.expr(e)?;
        }
    }
    Ok(())
}

fn parse(code: &str) -> Result<Vec<Stmt>, PyError> {
    if code.len() > MAX_CODE_BYTES {
        return raise(
            "ValueError",
            format!(
                "the code is {} bytes; the simulator evaluates at most {MAX_CODE_BYTES}",
                code.len()
            ),
        );
    }
    syntax::parse(code, Dialect::Python).map_err(|e| syntax_error(&e, code))
}

fn syntax_error(e: &ParseError, code: &str) -> PyError {
    let (line, _) = e.line_col(code);
    let (class, message) = match &e.kind {
        ErrorKind::UnterminatedString => (
            "SyntaxError",
            format!("unterminated string literal (detected at line {line})"),
        ),
        ErrorKind::TooDeep => (
            "SyntaxError",
            format!("too many nested parentheses (more than {MAX_DEPTH})"),
        ),
        ErrorKind::IntTooLarge => (
            "OverflowError",
            "int literal too large for the simulator (64-bit ints only)".to_string(),
        ),
        ErrorKind::BadEscape(c) => (
            "SyntaxError",
            format!("(unicode error) truncated \\{c} escape"),
        ),
        _ => ("SyntaxError", "invalid syntax".to_string()),
    };
    PyError {
        class,
        message: if class == "SyntaxError" {
            format!("{message} (<string>, line {line})")
        } else {
            message
        },
    }
}

/// A list built by a literal or `+`, bounded like strings: its printed form
/// is the RETURN, so no program can make it grow without limit.
fn list(items: Vec<Py>) -> Result<Py, PyError> {
    let list = Py::List(items);
    if list.size() > MAX_STRING_BYTES {
        return raise(
            "MemoryError",
            format!("a list would grow past {MAX_STRING_BYTES} bytes"),
        );
    }
    Ok(list)
}

struct Eval<'a> {
    session: &'a mut Session,
    now: Instant,
}

impl Eval<'_> {
    fn expr(&mut self, e: &Expr) -> Result<Py, PyError> {
        Ok(match e {
            Expr::Int(i) => Py::Int(*i),
            Expr::Float(f) => Py::Float(*f),
            Expr::Str(s) => Py::Str(s.clone()),
            Expr::Bool(b) => Py::Bool(*b),
            Expr::Nil => Py::None,
            Expr::Array(items) => list(
                items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<_, _>>()?,
            )?,
            Expr::Name(name) if name == "rv" => Py::Module(PyModule::Rv),
            Expr::Name(name) => return raise("NameError", format!("name '{name}' is not defined")),
            Expr::Attr(inner, name) => attr(self.expr(inner)?, name)?,
            Expr::Call(callee, args) => {
                let f = self.expr(callee)?;
                let args = args
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<Result<Vec<_>, _>>()?;
                let Py::Func(spec) = f else {
                    return raise(
                        "TypeError",
                        format!("'{}' object is not callable", f.type_name()),
                    );
                };
                let values = convert_args(spec, args)?;
                let result = self.session.run(spec.cmd, &values, self.now);
                // Handlers of the events the command fired run now, as in RV.
                super::lang::dispatch(self.session, self.now, None);
                match result {
                    Ok(v) => from_value(v),
                    Err(e) => return raise("Exception", format!("{}: {e}", spec.name)),
                }
            }
            // The parser builds these for Mu only.
            Expr::Compare(..) | Expr::Logic(..) | Expr::Not(_) => {
                return raise("SyntaxError", "invalid syntax");
            }
            Expr::Neg(inner) => match self.expr(inner)? {
                Py::Bool(b) => Py::Int(-i64::from(b)),
                Py::Int(i) => Py::Int(i.checked_neg().ok_or_else(overflow)?),
                Py::Float(f) => Py::Float(-f),
                other => {
                    return raise(
                        "TypeError",
                        format!("bad operand type for unary -: '{}'", other.type_name()),
                    );
                }
            },
            Expr::Sum(first, rest) => {
                let mut acc = self.expr(first)?;
                for (op, e) in rest {
                    let rhs = self.expr(e)?;
                    acc = arith(*op, acc, rhs)?;
                }
                acc
            }
        })
    }
}

fn overflow() -> PyError {
    PyError {
        class: "OverflowError",
        message: "integer result too large for the simulator (64-bit ints only)".to_string(),
    }
}

fn attr(target: Py, name: &str) -> Result<Py, PyError> {
    let module = match &target {
        Py::Module(PyModule::Rv) => match name {
            "commands" => return Ok(Py::Module(PyModule::Commands)),
            "extra_commands" => return Ok(Py::Module(PyModule::ExtraCommands)),
            _ => None,
        },
        Py::Module(PyModule::Commands) => Some(Module::Commands),
        Py::Module(PyModule::ExtraCommands) => Some(Module::ExtraCommands),
        _ => None,
    };
    if let Some(module) = module {
        if let Some(spec) = find_command(module, name) {
            return Ok(Py::Func(spec));
        }
        if let Some(v) = find_constant(module, name) {
            return Ok(Py::Int(i64::from(v)));
        }
    }
    match target {
        Py::Module(m) => raise(
            "AttributeError",
            format!("module '{}' has no attribute '{name}'", m.name()),
        ),
        other => raise(
            "AttributeError",
            format!("'{}' object has no attribute '{name}'", other.type_name()),
        ),
    }
}

/// Python's list of names in a "missing arguments" message.
fn name_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} and {b}"),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
    }
}

/// Converts Python arguments to the command's parameter types, as RV's
/// Python bridge does (bools count as ints; ints pass as floats).
fn convert_args(spec: &'static CmdSpec, args: Vec<Py>) -> Result<Vec<Value>, PyError> {
    let (want, got) = (spec.params.len(), args.len());
    if got > want {
        return raise(
            "TypeError",
            format!(
                "{}() takes {want} positional argument{} but {got} {} given",
                spec.name,
                if want == 1 { "" } else { "s" },
                if got == 1 { "was" } else { "were" }
            ),
        );
    }
    if got < want {
        let missing: Vec<&str> = spec.params[got..].iter().map(|(n, _)| *n).collect();
        return raise(
            "TypeError",
            format!(
                "{}() missing {} required positional argument{}: {}",
                spec.name,
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                name_list(&missing)
            ),
        );
    }
    args.into_iter()
        .zip(spec.params)
        .enumerate()
        .map(|(i, (v, (pname, param)))| {
            let converted = match (param, &v) {
                (Param::Int, Py::Int(n)) => {
                    Some(Value::Int(i32::try_from(*n).map_err(|_| PyError {
                        class: "OverflowError",
                        message: "Python int too large to convert to C int".to_string(),
                    })?))
                }
                (Param::Int, Py::Bool(b)) => Some(Value::Int(i32::from(*b))),
                (Param::Float, Py::Float(f)) => Some(Value::Float(*f as f32)),
                (Param::Float, Py::Int(n)) => Some(Value::Float(*n as f32)),
                (Param::Float, Py::Bool(b)) => Some(Value::Float(f32::from(u8::from(*b)))),
                (Param::Bool, Py::Bool(b)) => Some(Value::Bool(*b)),
                (Param::Str | Param::OptStr, Py::Str(s)) => Some(Value::Str(s.clone())),
                (Param::OptStr | Param::OptStrArray, Py::None) => Some(Value::Nil),
                (Param::OptStrArray, Py::List(items)) => items
                    .iter()
                    .map(|i| match i {
                        Py::Str(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .map(Value::StrArray),
                _ => None,
            };
            converted.ok_or_else(|| {
                let expected = match param {
                    Param::Int => "int",
                    Param::Float => "float",
                    Param::Bool => "bool",
                    Param::Str => "str",
                    Param::OptStr => "str or None",
                    Param::OptStrArray => "a list of str or None",
                    // Python has no Mu functions to pass.
                    Param::Func => "a Mu function (not available from Python)",
                };
                PyError {
                    class: "TypeError",
                    message: format!(
                        "{}() argument {} ({pname}) must be {expected}, not {}",
                        spec.name,
                        i + 1,
                        v.type_name()
                    ),
                }
            })
        })
        .collect()
}

fn from_value(v: Value) -> Py {
    match v {
        Value::Void | Value::Nil => Py::None,
        Value::Bool(b) => Py::Bool(b),
        Value::Int(i) => Py::Int(i64::from(i)),
        Value::Float(f) => Py::Float(f64::from(f)),
        Value::Str(s) => Py::Str(s),
        Value::StrArray(items) => Py::List(items.into_iter().map(Py::Str).collect()),
        // No command returns these.
        Value::Func(_) | Value::Event(_) | Value::Regex(_) => Py::None,
    }
}

fn arith(op: BinOp, a: Py, b: Py) -> Result<Py, PyError> {
    let sym = if op == BinOp::Add { '+' } else { '-' };
    let num = |v: &Py| match v {
        Py::Bool(b) => Some((i64::from(*b), None)),
        Py::Int(i) => Some((*i, None)),
        Py::Float(f) => Some((0, Some(*f))),
        _ => None,
    };
    if let (Some((ai, af)), Some((bi, bf))) = (num(&a), num(&b)) {
        return Ok(if af.is_some() || bf.is_some() {
            let (x, y) = (af.unwrap_or(ai as f64), bf.unwrap_or(bi as f64));
            Py::Float(if op == BinOp::Add { x + y } else { x - y })
        } else {
            let r = if op == BinOp::Add {
                ai.checked_add(bi)
            } else {
                ai.checked_sub(bi)
            };
            Py::Int(r.ok_or_else(overflow)?)
        });
    }
    match (op, a, b) {
        (BinOp::Add, Py::Str(x), Py::Str(y)) => {
            if x.len() + y.len() > MAX_STRING_BYTES {
                return raise(
                    "MemoryError",
                    format!("a string would grow past {MAX_STRING_BYTES} bytes"),
                );
            }
            Ok(Py::Str(x + &y))
        }
        (BinOp::Add, Py::List(mut x), Py::List(y)) => {
            x.extend(y);
            list(x)
        }
        (BinOp::Add, Py::Str(_), other) => raise(
            "TypeError",
            format!(
                "can only concatenate str (not \"{}\") to str",
                other.type_name()
            ),
        ),
        (BinOp::Add, Py::List(_), other) => raise(
            "TypeError",
            format!(
                "can only concatenate list (not \"{}\") to list",
                other.type_name()
            ),
        ),
        (_, a, b) => raise(
            "TypeError",
            format!(
                "unsupported operand type(s) for {sym}: '{}' and '{}'",
                a.type_name(),
                b.type_name()
            ),
        ),
    }
}

/// Python's `repr()` of a float: the shortest round-trip digits, in
/// positional notation for exponents -4..16 and scientific beyond.
fn float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    if !(-4..16).contains(&exp) {
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}e{esign}{:02}", exp.unsigned_abs());
    }
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let point = exp + 1; // digits before the decimal point
    let body = if point <= 0 {
        let zeros = "0".repeat(point.unsigned_abs() as usize);
        format!("0.{zeros}{digits}")
    } else {
        let point = point.unsigned_abs() as usize;
        if digits.len() > point {
            format!("{}.{}", &digits[..point], &digits[point..])
        } else {
            format!("{digits}{}.0", "0".repeat(point - digits.len()))
        }
    };
    format!("{sign}{body}")
}

/// Python's `repr()` of a str: single quotes unless the text has a `'` and
/// no `"`; backslash, the quote and control characters escaped.
fn str_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let n = u32::from(c);
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02x}"));
                } else {
                    out.push_str(&format!("\\u{n:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        for (v, want) in [
            (24.0, "24.0"),
            (23.976, "23.976"),
            (f64::from(23.976f32), "23.97599983215332"),
            (0.5, "0.5"),
            (-2.5, "-2.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e300, "1.5e+300"),
            (-0.0, "-0.0"),
            (123456.789, "123456.789"),
        ] {
            assert_eq!(float_repr(v), want, "{v}");
        }
    }

    #[test]
    fn str_repr_matches_python() {
        assert_eq!(str_repr("a"), "'a'");
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("'\""), "'\\'\"'");
        assert_eq!(str_repr("a\\b\n\t\u{1}"), "'a\\\\b\\n\\t\\x01'");
        assert_eq!(str_repr("é"), "'é'");
    }

    #[test]
    fn name_list_matches_python() {
        assert_eq!(name_list(&["a"]), "'a'");
        assert_eq!(name_list(&["a", "b"]), "'a' and 'b'");
        assert_eq!(name_list(&["a", "b", "c"]), "'a', 'b', and 'c'");
    }
}
