//! The Mu front end: evaluation of `remote-eval` text and Mu's printed forms.
//!
//! The program is run twice over the same code path: first as a dry run in
//! which commands only check their argument types and return a placeholder of
//! their result type (Mu compiles and type-checks everything before running),
//! then for real. The check depends on the code alone, so a program text that
//! passed it is kept ([`Programs`]) and later only run.

use std::sync::Arc;
use std::time::Instant;

use super::syntax::{self, BinOp, Dialect, ErrorKind, Expr, ParseError, Stmt};
use super::{
    COMMANDS, CmdSpec, CommandError, MAX_CODE_BYTES, MAX_DEPTH, MAX_STRING_BYTES, Module, Param,
    Session, Value, find_command, find_constant,
};

/// Why Mu evaluation failed; the text after `ERROR: remote-eval: `.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(super) enum MuError {
    #[error("syntax error at line {line}, char {col}: {message}")]
    Syntax {
        line: usize,
        col: usize,
        message: String,
    },
    #[error("the code is {len} bytes; the simulator evaluates at most {MAX_CODE_BYTES}")]
    TooLong { len: usize },
    #[error("unknown function {name}(); the simulator knows {}", known_functions())]
    UnknownFunction { name: String },
    #[error("unknown identifier {name}")]
    UnknownIdentifier { name: String },
    #[error("only named functions can be called, as in play() or extra_commands.stepForward1()")]
    NotCallable,
    #[error("the simulator does not support member access on values")]
    MemberAccess,
    #[error("{func}() expects {expected} argument{}{signature}, got {got}", if *.expected == 1 { "" } else { "s" })]
    ArgCount {
        func: &'static str,
        expected: usize,
        /// ` (int frame)`, or empty when there are no parameters.
        signature: String,
        got: usize,
    },
    #[error("{func}() argument {index} ({param}) must be {expected}, got {got}")]
    ArgType {
        func: &'static str,
        index: usize,
        param: &'static str,
        expected: &'static str,
        got: &'static str,
    },
    #[error("cannot apply {op} to {left} and {right}")]
    Operator {
        op: char,
        left: &'static str,
        right: &'static str,
    },
    #[error("cannot negate a {0}")]
    Negate(&'static str),
    #[error("integer literal {0} does not fit in a Mu int")]
    IntRange(i64),
    #[error("string[] elements must be string, got {0}")]
    ArrayElement(&'static str),
    #[error("cannot bind a void value to {0}")]
    VoidBinding(String),
    #[error("{0} is already declared in this scope")]
    Redeclared(String),
    #[error("a string would grow past {MAX_STRING_BYTES} bytes")]
    StringTooLong,
    #[error("{func}: {error}")]
    Command {
        func: &'static str,
        error: CommandError,
    },
}

fn known_functions() -> String {
    COMMANDS
        .iter()
        .map(|c| match c.module {
            Module::Commands => c.name.to_string(),
            Module::ExtraCommands => format!("extra_commands.{}", c.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Evaluates `code` and formats the RETURN payload (§4).
pub(super) fn eval(session: &mut Session, code: &str, now: Instant) -> String {
    match run(session, code, now) {
        Ok(Some(v)) => print(&v),
        Ok(None) => String::new(),
        Err(e) => format!("ERROR: remote-eval: {e}\nERROR: remote-eval: '{code}'\n"),
    }
}

/// Checks then runs `code`; `None` when there are no statements.
pub(super) fn run(
    session: &mut Session,
    code: &str,
    now: Instant,
) -> Result<Option<Value>, MuError> {
    if code.len() > MAX_CODE_BYTES {
        return Err(MuError::TooLong { len: code.len() });
    }
    let program = match session.programs.get(code) {
        Some(program) => program,
        None => {
            let program =
                Arc::new(syntax::parse(code, Dialect::Mu).map_err(|e| syntax_error(&e, code))?);
            // The type check depends on the code alone (commands answer
            // it with placeholders), so a program is checked once and
            // kept only once it has passed.
            Evaluator {
                session: &mut *session,
                now,
                dry: true,
                scopes: vec![Vec::new()],
            }
            .block(&program)?;
            session.programs.keep(code, program.clone());
            program
        }
    };
    Evaluator {
        session,
        now,
        dry: false,
        scopes: vec![Vec::new()],
    }
    .block(&program)
}

/// Parsed and type-checked programs by their source text: controllers send
/// the same few snippets over and over (the Playback tab's buttons, a
/// renderer's `frame()`), so each is parsed and checked once. Bounded:
/// cleared when full.
#[derive(Clone, Debug, Default)]
pub(super) struct Programs {
    checked: std::collections::HashMap<String, Arc<Vec<Stmt>>>,
}

impl Programs {
    /// Most programs kept.
    const KEEP: usize = 256;
    /// Longest source text kept (longer ones are parsed every time).
    const KEEP_BYTES: usize = 4096;

    fn get(&self, code: &str) -> Option<Arc<Vec<Stmt>>> {
        self.checked.get(code).cloned()
    }

    fn keep(&mut self, code: &str, program: Arc<Vec<Stmt>>) {
        if code.len() <= Self::KEEP_BYTES {
            if self.checked.len() >= Self::KEEP {
                self.checked.clear();
            }
            self.checked.insert(code.to_owned(), program);
        }
    }
}

fn syntax_error(e: &ParseError, code: &str) -> MuError {
    let (line, col) = e.line_col(code);
    let message = match &e.kind {
        ErrorKind::UnexpectedChar(c) => format!("unexpected character {c:?}"),
        ErrorKind::UnterminatedString => "unterminated string literal".to_string(),
        ErrorKind::UnterminatedComment => "unterminated /* comment".to_string(),
        ErrorKind::BadEscape(c) => {
            format!(
                "bad escape sequence \\{} in string literal",
                c.escape_debug()
            )
        }
        ErrorKind::IntTooLarge => "integer literal does not fit in a Mu int".to_string(),
        ErrorKind::Expected { expected, found } => format!("expected {expected}, found {found}"),
        ErrorKind::TooDeep => format!("nesting deeper than {MAX_DEPTH} levels"),
    };
    MuError::Syntax { line, col, message }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Void => "void",
        Value::Nil => "nil",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "string",
        Value::StrArray(_) => "string[]",
    }
}

struct Evaluator<'a> {
    session: &'a mut Session,
    now: Instant,
    /// Type-check only: commands return placeholders and change nothing.
    dry: bool,
    scopes: Vec<Vec<(String, Value)>>,
}

impl Evaluator<'_> {
    /// Runs statements in the current scope; the value of the last one.
    fn block(&mut self, stmts: &[Stmt]) -> Result<Option<Value>, MuError> {
        let mut last = None;
        for stmt in stmts {
            last = Some(match stmt {
                Stmt::Expr(e) => self.expr(e)?,
                Stmt::Let(name, e) => {
                    let v = self.expr(e)?;
                    if v == Value::Void {
                        return Err(MuError::VoidBinding(name.clone()));
                    }
                    // There is always a scope: blocks push and pop in pairs
                    // over the outermost one.
                    let scope = self.scopes.last_mut().expect("the outermost scope");
                    if scope.iter().any(|(n, _)| n == name) {
                        return Err(MuError::Redeclared(name.clone()));
                    }
                    scope.push((name.clone(), v));
                    Value::Void
                }
                Stmt::Block(body) => {
                    self.scopes.push(Vec::new());
                    let v = self.block(body);
                    self.scopes.pop();
                    v?.unwrap_or(Value::Void)
                }
            });
        }
        Ok(last)
    }

    fn expr(&mut self, e: &Expr) -> Result<Value, MuError> {
        Ok(match e {
            Expr::Int(i) => Value::Int(i32::try_from(*i).map_err(|_| MuError::IntRange(*i))?),
            Expr::Float(f) => Value::Float(*f as f32),
            Expr::Str(s) => Value::Str(s.clone()),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Nil => Value::Nil,
            Expr::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match self.expr(item)? {
                        Value::Str(s) => out.push(s),
                        other => return Err(MuError::ArrayElement(type_name(&other))),
                    }
                }
                Value::StrArray(out)
            }
            Expr::Name(name) => self.lookup(name)?,
            Expr::Attr(..) => {
                let name = qualified_name(e).ok_or(MuError::MemberAccess)?;
                match name.split_once('.') {
                    Some(("commands", c)) => find_constant(Module::Commands, c).map(Value::Int),
                    _ => None,
                }
                .ok_or(MuError::UnknownIdentifier { name })?
            }
            Expr::Call(callee, args) => {
                let name = qualified_name(callee).ok_or(MuError::NotCallable)?;
                let spec = resolve(&name).ok_or(MuError::UnknownFunction { name })?;
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.expr(a)?);
                }
                self.call(spec, values)?
            }
            Expr::Neg(inner) => match self.expr(inner)? {
                Value::Int(i) => Value::Int(i.wrapping_neg()),
                Value::Float(f) => Value::Float(-f),
                other => return Err(MuError::Negate(type_name(&other))),
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

    fn lookup(&self, name: &str) -> Result<Value, MuError> {
        for scope in self.scopes.iter().rev() {
            if let Some((_, v)) = scope.iter().rev().find(|(n, _)| n == name) {
                return Ok(v.clone());
            }
        }
        find_constant(Module::Commands, name)
            .map(Value::Int)
            .ok_or_else(|| MuError::UnknownIdentifier {
                name: name.to_string(),
            })
    }

    fn call(&mut self, spec: &'static CmdSpec, args: Vec<Value>) -> Result<Value, MuError> {
        let args = coerce(spec, args)?;
        if self.dry {
            return Ok(spec.ret.placeholder());
        }
        self.session
            .run(spec.cmd, &args, self.now)
            .map_err(|error| MuError::Command {
                func: spec.name,
                error,
            })
    }
}

/// `a.b.c` for a chain of names, `None` for anything else.
fn qualified_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Name(n) => Some(n.clone()),
        Expr::Attr(inner, n) => Some(format!("{}.{n}", qualified_name(inner)?)),
        _ => None,
    }
}

/// Finds a command by its Mu name: `commands` functions bare or qualified,
/// `extra_commands` ones qualified.
fn resolve(name: &str) -> Option<&'static CmdSpec> {
    match name.split_once('.') {
        None => find_command(Module::Commands, name),
        Some(("commands", f)) => find_command(Module::Commands, f),
        Some(("extra_commands", f)) => find_command(Module::ExtraCommands, f),
        Some(_) => None,
    }
}

/// Matches argument values to the parameters, with Mu's implicit int to float
/// conversion; nil passes for string and string[] parameters.
fn coerce(spec: &'static CmdSpec, args: Vec<Value>) -> Result<Vec<Value>, MuError> {
    if args.len() != spec.params.len() {
        return Err(MuError::ArgCount {
            func: spec.name,
            expected: spec.params.len(),
            signature: if spec.params.is_empty() {
                String::new()
            } else {
                format!(" ({})", spec.signature())
            },
            got: args.len(),
        });
    }
    args.into_iter()
        .zip(spec.params)
        .enumerate()
        .map(|(i, (v, (pname, param)))| {
            Ok(match (param, v) {
                (Param::Int, v @ Value::Int(_))
                | (Param::Float, v @ Value::Float(_))
                | (Param::Bool, v @ Value::Bool(_))
                | (Param::Str | Param::OptStr, v @ (Value::Str(_) | Value::Nil))
                | (Param::OptStrArray, v @ (Value::StrArray(_) | Value::Nil)) => v,
                (Param::Float, Value::Int(i)) => Value::Float(i as f32),
                (_, v) => {
                    return Err(MuError::ArgType {
                        func: spec.name,
                        index: i + 1,
                        param: pname,
                        expected: param.mu_name(),
                        got: type_name(&v),
                    });
                }
            })
        })
        .collect()
}

/// Mu's string conversions for `+` (`string(int)` is `%d`, `string(float)`
/// is `%f`, `string(bool)` is `true`/`false`, a nil string is `nil`).
fn to_concat(v: &Value) -> Option<String> {
    Some(match v {
        Value::Str(s) => s.clone(),
        Value::Nil => "nil".to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => format!("{f:.6}"),
        Value::Bool(b) => b.to_string(),
        Value::Void | Value::StrArray(_) => return None,
    })
}

fn arith(op: BinOp, a: Value, b: Value) -> Result<Value, MuError> {
    let sym = if op == BinOp::Add { '+' } else { '-' };
    let err = |a: &Value, b: &Value| MuError::Operator {
        op: sym,
        left: type_name(a),
        right: type_name(b),
    };
    Ok(match (op, &a, &b) {
        (_, Value::Int(x), Value::Int(y)) => Value::Int(match op {
            BinOp::Add => x.wrapping_add(*y),
            BinOp::Sub => x.wrapping_sub(*y),
        }),
        (_, Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let as_f = |v: &Value| match v {
                Value::Int(i) => *i as f32,
                Value::Float(f) => *f,
                _ => 0.0,
            };
            Value::Float(match op {
                BinOp::Add => as_f(&a) + as_f(&b),
                BinOp::Sub => as_f(&a) - as_f(&b),
            })
        }
        (BinOp::Add, Value::Str(_), _) | (BinOp::Add, _, Value::Str(_)) => {
            match (to_concat(&a), to_concat(&b)) {
                (Some(x), Some(y)) => {
                    if x.len() + y.len() > MAX_STRING_BYTES {
                        return Err(MuError::StringTooLong);
                    }
                    Value::Str(x + &y)
                }
                _ => return Err(err(&a, &b)),
            }
        }
        _ => return Err(err(&a, &b)),
    })
}

/// The Mu printed form of a value (`Type::outputValue`).
pub(super) fn print(v: &Value) -> String {
    match v {
        Value::Void => "void".to_string(),
        Value::Nil => "nil".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => print_float(*f),
        Value::Str(s) => quote(s),
        Value::StrArray(items) => {
            // DynamicArrayType::outputValueRecursive: elements after the
            // 82nd are elided.
            let mut out = String::from("string[] {");
            for (i, s) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&quote(s));
                if i > 80 && items.len() > 81 {
                    out.push_str(", ...truncated...");
                    break;
                }
            }
            out.push('}');
            out
        }
    }
}

/// `FloatType::outputValue`: `ostream << float` (6 significant digits, like
/// `%g`), then `.0` when the value is integral.
fn print_float(f: f32) -> String {
    let mut s = format_g(f64::from(f));
    if f.floor() == f {
        s.push_str(".0");
    }
    s
}

/// C's `%g` with precision 6.
fn format_g(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{v:.5e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.unsigned_abs())
    } else {
        let precision = usize::try_from(5 - exp).unwrap_or(0);
        trim(&format!("{v:.precision$}"))
    }
}

/// `StringType::outputQuotedString`: `"` delimiters, `"` escaped, NUL as
/// `^@`, `\n \b \r \t` by name, other control characters as `\uXXXX`; other
/// bytes, including `\` and UTF-8, are written as they are.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\0' => out.push_str("^@"),
            '\n' => out.push_str("\\n"),
            '\u{8}' => out.push_str("\\b"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            c if c.is_ascii_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
