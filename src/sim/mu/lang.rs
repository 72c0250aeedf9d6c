//! The Mu front end: evaluation of `remote-eval` text and Mu's printed forms.
//!
//! The program is run twice over the same code path: first as a dry run in
//! which commands only check their argument types and return a placeholder of
//! their result type (Mu compiles and type-checks everything before running),
//! then for real. The check depends on the code alone, so a program text that
//! passed it is kept ([`Programs`]) and later only run.

use std::sync::Arc;
use std::time::Instant;

use super::events::EventData;
use super::syntax::{
    self, BinOp, CmpOp, Dialect, ErrorKind, Expr, FnDef, LogicOp, ParseError, Stmt, TypeName,
};
use super::{
    COMMANDS, CmdSpec, CommandError, MAX_CODE_BYTES, MAX_DEPTH, MAX_STRING_BYTES, Module, MuRegex,
    Param, Session, Value, find_command, find_constant,
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
        op: &'static str,
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
    #[error(
        "the code ran more than {} steps (the simulator's step limit); is there an endless loop?",
        super::MAX_STEPS
    )]
    StepLimit,
    #[error(
        "the code ran longer than {} ms (the simulator's time limit per request, so that other \
         clients are served meanwhile); is there an endless loop?",
        super::MAX_TIME.as_millis()
    )]
    TimeLimit,
    #[error(
        "calls nested deeper than {} (the simulator's recursion depth limit)",
        super::MAX_CALL_DEPTH
    )]
    CallDepth,
    #[error(
        "evaluation nested deeper than {MAX_NESTING} levels (the simulator's recursion depth limit)"
    )]
    Nesting,
    #[error("a condition must be bool, got {0}")]
    Condition(&'static str),
    #[error("cannot apply ! to {0}")]
    Not(&'static str),
    #[error("for_each needs a string[], got {0}")]
    ForEach(&'static str),
    #[error("{what} is {expected}, cannot hold {got}")]
    TypeMismatch {
        what: String,
        expected: &'static str,
        got: &'static str,
    },
    #[error("{name} holds {expected}, cannot assign {got}")]
    Assign {
        name: String,
        expected: &'static str,
        got: &'static str,
    },
    #[error("{0} cannot be declared void")]
    VoidVariable(String),
    #[error("{func} {signature} called with {got} arguments")]
    UserArgCount {
        func: String,
        signature: String,
        got: usize,
    },
    #[error("{func} ended without returning its {ty}")]
    NoReturn { func: String, ty: &'static str },
    #[error("{func}() expects 1 argument, got {got}")]
    BuiltinArgCount { func: String, got: usize },
    #[error("cannot cast {from} to {to}")]
    Cast { to: String, from: &'static str },
    #[error("cannot convert {text:?} to {to}")]
    BadNumber { text: String, to: &'static str },
    #[error("bad regex {pattern:?}: {message}")]
    Regex { pattern: String, message: String },
    #[error("{ty} has no method {method}()")]
    NoMethod { ty: &'static str, method: String },
    #[error("{method}() expects a {expected}, got {got}")]
    MethodArg {
        method: &'static str,
        expected: &'static str,
        got: &'static str,
    },
    #[error(
        "the simulator holds at most {} user functions; restart it for more",
        super::MAX_FUNCTIONS
    )]
    TooManyFunctions,
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
            Evaluator::new(session, now, true, &mut Budget::fresh(session)).block(&program)?;
            session.programs.keep(code, program.clone());
            program
        }
    };
    let mut budget = Budget::fresh(session);
    let mut evaluator = Evaluator::new(session, now, false, &mut budget);
    let last = evaluator.block(&program)?;
    Ok(evaluator.returning.take().or(last))
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
        Value::Func(_) => "function",
        Value::Event(_) => "Event",
        Value::Regex(_) => "regex",
    }
}

/// `int(s)` and `float(s)`: the number `s` spells, spaces around allowed.
fn parse_number<T: std::str::FromStr>(s: &str, to: &'static str) -> Result<T, MuError> {
    s.trim().parse().map_err(|_| MuError::BadNumber {
        text: s.to_owned(),
        to,
    })
}

/// A value for a variable of type `ty`: `v`, or `v` converted as Mu does
/// implicitly (int to float; nil for a string or string[]).
fn fit(ty: TypeName, v: Value, what: &str) -> Result<Value, MuError> {
    Ok(match (ty, v) {
        (TypeName::Int, v @ Value::Int(_))
        | (TypeName::Float, v @ Value::Float(_))
        | (TypeName::Bool, v @ Value::Bool(_))
        | (TypeName::String, v @ (Value::Str(_) | Value::Nil))
        | (TypeName::StringArray, v @ (Value::StrArray(_) | Value::Nil))
        | (TypeName::Event, v @ Value::Event(_))
        | (TypeName::Void, v @ Value::Void) => v,
        (TypeName::Float, Value::Int(i)) => Value::Float(i as f32),
        (ty, v) => {
            return Err(MuError::TypeMismatch {
                what: what.to_owned(),
                expected: ty.mu_name(),
                got: type_name(&v),
            });
        }
    })
}

/// The value of a declaration without one (`string s;` is nil).
fn default_value(ty: TypeName, name: &str) -> Result<Value, MuError> {
    Ok(match ty {
        TypeName::Int => Value::Int(0),
        TypeName::Float => Value::Float(0.0),
        TypeName::Bool => Value::Bool(false),
        TypeName::String | TypeName::StringArray | TypeName::Event => Value::Nil,
        TypeName::Void => return Err(MuError::VoidVariable(name.to_owned())),
    })
}

/// A value of type `ty` for type-checking without running.
fn placeholder(ty: TypeName, name: &str) -> Result<Value, MuError> {
    Ok(match ty {
        TypeName::Void => Value::Void,
        TypeName::String => Value::Str(String::new()),
        TypeName::StringArray => Value::StrArray(Vec::new()),
        TypeName::Event => Value::Event(Arc::new(EventData::new("", ""))),
        other => default_value(other, name)?,
    })
}

/// `==`, `!=` (also `eq`, `neq`: by value here, see the module docs),
/// `<`, `>`, `<=`, `>=`.
fn compare(op: CmpOp, l: &Value, r: &Value) -> Result<bool, MuError> {
    use std::cmp::Ordering;
    let order: Option<Ordering> = match (l, r) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let f = |v: &Value| match v {
                Value::Int(i) => *i as f32,
                Value::Float(f) => *f,
                _ => 0.0,
            };
            f(l).partial_cmp(&f(r))
        }
        (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) if matches!(op, CmpOp::Eq | CmpOp::Ne) => Some(a.cmp(b)),
        (Value::Nil | Value::Str(_) | Value::StrArray(_), Value::Nil)
        | (Value::Nil, Value::Str(_) | Value::StrArray(_))
        | (Value::StrArray(_), Value::StrArray(_))
        | (Value::Func(_), Value::Func(_))
            if matches!(op, CmpOp::Eq | CmpOp::Ne) =>
        {
            return Ok((l == r) == (op == CmpOp::Eq));
        }
        _ => {
            return Err(MuError::Operator {
                op: op.symbol(),
                left: type_name(l),
                right: type_name(r),
            });
        }
    };
    // NaN compares unequal to everything.
    let Some(order) = order else {
        return Ok(op == CmpOp::Ne);
    };
    Ok(match op {
        CmpOp::Eq => order == Ordering::Equal,
        CmpOp::Ne => order != Ordering::Equal,
        CmpOp::Lt => order == Ordering::Less,
        CmpOp::Gt => order == Ordering::Greater,
        CmpOp::Le => order != Ordering::Greater,
        CmpOp::Ge => order != Ordering::Less,
    })
}

/// Most statements, loop iterations and calls one evaluation may run, and
/// one handler run when an event fires outside an evaluation (the clock,
/// [`Session::fire_event`]). Handlers that run during an evaluation share
/// its budget. Exceeding it is an error naming the limit.
pub const MAX_STEPS: u64 = 1_000_000;
/// Longest one evaluation (or one handler run outside one) may take: the
/// simulator serves every client on one thread, as RV does, so a job that
/// runs long delays everyone's answers. Checked every 1024
/// steps.
pub const MAX_TIME: std::time::Duration = std::time::Duration::from_millis(2);
/// How many steps run between two looks at the clock.
const TIME_CHECK_EVERY: u64 = 1024;
/// Deepest nesting of user function calls and of handler runs within
/// handler runs (a handler that fires an event whose handler fires ...).
pub const MAX_CALL_DEPTH: usize = 32;
/// Deepest nesting of statements and expressions being evaluated, over
/// all calls: what keeps the evaluator's own recursion within a 2 MiB
/// thread stack whatever the code.
const MAX_NESTING: usize = 120;

/// What an evaluation may still spend: steps, and call depth.
#[derive(Debug)]
pub(super) struct Budget {
    steps_left: u64,
    depth: usize,
    nesting: usize,
    /// When the time allowed (the session's, [`MAX_TIME`] by default) is up.
    deadline: std::time::Instant,
}

impl Budget {
    /// A whole budget for one evaluation of `session`'s.
    pub(super) fn fresh(session: &Session) -> Self {
        Budget {
            steps_left: MAX_STEPS,
            depth: 0,
            nesting: 0,
            deadline: std::time::Instant::now() + session.time_limit,
        }
    }
}

/// A variable: `let` ones take the type of their first value.
#[derive(Debug)]
struct Var {
    name: String,
    ty: Option<TypeName>,
    value: Value,
}

struct Evaluator<'a, 'b> {
    session: &'a mut Session,
    now: Instant,
    /// Type-check only: commands return placeholders and change nothing.
    dry: bool,
    scopes: Vec<Vec<Var>>,
    budget: &'b mut Budget,
    /// Functions defined so far by the program being checked (dry run
    /// only; the real run defines them in the session as it goes).
    declared: Vec<Arc<FnDef>>,
    /// The return type of the function being run; `None` at top level.
    ret: Option<TypeName>,
    /// Set by `return` until the function (or program) ends.
    returning: Option<Value>,
}

impl<'a, 'b> Evaluator<'a, 'b> {
    fn new(session: &'a mut Session, now: Instant, dry: bool, budget: &'b mut Budget) -> Self {
        Evaluator {
            session,
            now,
            dry,
            scopes: vec![Vec::new()],
            budget,
            declared: Vec::new(),
            ret: None,
            returning: None,
        }
    }

    fn step(&mut self) -> Result<(), MuError> {
        if self.dry {
            return Ok(());
        }
        if self.budget.steps_left == 0 {
            return Err(MuError::StepLimit);
        }
        self.budget.steps_left -= 1;
        if self.budget.steps_left.is_multiple_of(TIME_CHECK_EVERY)
            && std::time::Instant::now() > self.budget.deadline
        {
            return Err(MuError::TimeLimit);
        }
        Ok(())
    }

    /// Runs statements in the current scope; the value of the last one.
    fn block(&mut self, stmts: &[Stmt]) -> Result<Option<Value>, MuError> {
        let mut last = None;
        for stmt in stmts {
            self.step()?;
            last = Some(self.stmt(stmt)?);
            if self.returning.is_some() {
                break;
            }
        }
        Ok(last)
    }

    /// Runs one statement in a scope of its own (a body of if, while, ...).
    fn scoped(&mut self, stmt: &Stmt, vars: Vec<Var>) -> Result<(), MuError> {
        self.scopes.push(vars);
        let result = self.stmt(stmt);
        self.scopes.pop();
        result.map(|_| ())
    }

    fn declare(&mut self, var: Var) -> Result<(), MuError> {
        // There is always a scope: blocks push and pop in pairs over the
        // outermost one.
        let scope = self.scopes.last_mut().expect("the outermost scope");
        if scope.iter().any(|v| v.name == var.name) {
            return Err(MuError::Redeclared(var.name));
        }
        scope.push(var);
        Ok(())
    }

    fn condition(&mut self, e: &Expr) -> Result<bool, MuError> {
        match self.expr(e)? {
            Value::Bool(b) => Ok(b),
            other => Err(MuError::Condition(type_name(&other))),
        }
    }

    /// Enters one level of statement or expression nesting.
    fn nest<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, MuError>) -> Result<T, MuError> {
        if self.budget.nesting >= MAX_NESTING {
            return Err(MuError::Nesting);
        }
        self.budget.nesting += 1;
        let result = f(self);
        self.budget.nesting -= 1;
        result
    }

    fn stmt(&mut self, stmt: &Stmt) -> Result<Value, MuError> {
        self.nest(|this| this.stmt_inner(stmt))
    }

    fn stmt_inner(&mut self, stmt: &Stmt) -> Result<Value, MuError> {
        Ok(match stmt {
            Stmt::Expr(e) => self.expr(e)?,
            Stmt::Let(name, e) => {
                let v = self.expr(e)?;
                if v == Value::Void {
                    return Err(MuError::VoidBinding(name.clone()));
                }
                self.declare(Var {
                    name: name.clone(),
                    ty: None,
                    value: v,
                })?;
                Value::Void
            }
            Stmt::Block(body) => {
                self.scopes.push(Vec::new());
                let v = self.block(body);
                self.scopes.pop();
                v?.unwrap_or(Value::Void)
            }
            Stmt::Require(_) => Value::Void,
            Stmt::Decl(ty, vars) => {
                for (name, init) in vars {
                    let value = match init {
                        Some(e) => {
                            let v = self.expr(e)?;
                            fit(*ty, v, name)?
                        }
                        None => default_value(*ty, name)?,
                    };
                    self.declare(Var {
                        name: name.clone(),
                        ty: Some(*ty),
                        value,
                    })?;
                }
                Value::Void
            }
            Stmt::Assign(name, e) => {
                let v = self.expr(e)?;
                let var = self
                    .scopes
                    .iter_mut()
                    .rev()
                    .flat_map(|s| s.iter_mut().rev())
                    .find(|var| var.name == *name)
                    .ok_or_else(|| MuError::UnknownIdentifier { name: name.clone() })?;
                var.value = match var.ty {
                    Some(ty) => fit(ty, v, name)?,
                    None if type_name(&v) == type_name(&var.value) => v,
                    None => {
                        return Err(MuError::Assign {
                            name: name.clone(),
                            expected: type_name(&var.value),
                            got: type_name(&v),
                        });
                    }
                };
                Value::Void
            }
            Stmt::If(cond, then, otherwise) => {
                let c = self.condition(cond)?;
                if self.dry || c {
                    self.scoped(then, Vec::new())?;
                }
                if let Some(otherwise) = otherwise
                    && (self.dry || !c)
                {
                    self.scoped(otherwise, Vec::new())?;
                }
                Value::Void
            }
            Stmt::While(cond, body) => {
                loop {
                    self.step()?;
                    if !self.condition(cond)? && !self.dry {
                        break;
                    }
                    self.scoped(body, Vec::new())?;
                    if self.dry || self.returning.is_some() {
                        break;
                    }
                }
                Value::Void
            }
            Stmt::ForEach(name, array, body) => {
                let items = match self.expr(array)? {
                    Value::StrArray(items) if self.dry => vec![String::new(); items.len().max(1)],
                    Value::StrArray(items) => items,
                    other => return Err(MuError::ForEach(type_name(&other))),
                };
                for item in items {
                    self.step()?;
                    let var = Var {
                        name: name.clone(),
                        ty: Some(TypeName::String),
                        value: Value::Str(item),
                    };
                    self.scoped(body, vec![var])?;
                    if self.dry || self.returning.is_some() {
                        break;
                    }
                }
                Value::Void
            }
            Stmt::Function(def) => {
                if self.dry {
                    self.check_function(def)?;
                } else {
                    self.session.define_function(def.clone())?;
                }
                Value::Void
            }
            Stmt::Return(e) => {
                let v = match e {
                    Some(e) => self.expr(e)?,
                    None => Value::Void,
                };
                let v = match self.ret {
                    Some(ret) => fit(ret, v, "the return value")?,
                    None => v,
                };
                if !self.dry {
                    self.returning = Some(v);
                }
                Value::Void
            }
        })
    }

    /// Type-checks a function body with placeholder arguments; the function
    /// is callable (also recursively) from then on in this program.
    fn check_function(&mut self, def: &Arc<FnDef>) -> Result<(), MuError> {
        let mut params = Vec::new();
        for (ty, name) in &def.params {
            params.push(Var {
                name: name.clone(),
                ty: Some(*ty),
                value: placeholder(*ty, name)?,
            });
        }
        self.declared.retain(|d| d.name != def.name);
        self.declared.push(def.clone());
        let scopes = std::mem::replace(&mut self.scopes, vec![params]);
        let ret = self.ret.replace(def.ret);
        let result = self.block(&def.body);
        self.scopes = scopes;
        self.ret = ret;
        result.map(|_| ())
    }

    /// A user function by name: those of this program first when checking.
    fn user_function(&self, name: &str) -> Option<Arc<FnDef>> {
        if self.dry
            && let Some(def) = self.declared.iter().rev().find(|d| d.name == name)
        {
            return Some(def.clone());
        }
        self.session.functions.get(name).cloned()
    }

    fn call_user(&mut self, def: &Arc<FnDef>, args: Vec<Value>) -> Result<Value, MuError> {
        if args.len() != def.params.len() {
            return Err(MuError::UserArgCount {
                func: def.name.clone(),
                signature: def.signature(),
                got: args.len(),
            });
        }
        let mut params = Vec::with_capacity(args.len());
        for ((ty, name), v) in def.params.iter().zip(args) {
            params.push(Var {
                name: name.clone(),
                ty: Some(*ty),
                value: fit(*ty, v, name)?,
            });
        }
        if self.dry {
            return placeholder(def.ret, &def.name);
        }
        self.step()?;
        if self.budget.depth >= MAX_CALL_DEPTH {
            return Err(MuError::CallDepth);
        }
        self.budget.depth += 1;
        let scopes = std::mem::replace(&mut self.scopes, vec![params]);
        let ret = self.ret.replace(def.ret);
        let result = self.block(&def.body);
        self.scopes = scopes;
        self.ret = ret;
        self.budget.depth -= 1;
        let returned = self.returning.take();
        result?;
        match (def.ret, returned) {
            (TypeName::Void, _) => Ok(Value::Void),
            (_, Some(v)) => Ok(v),
            (ret, None) => Err(MuError::NoReturn {
                func: def.name.clone(),
                ty: ret.mu_name(),
            }),
        }
    }

    fn expr(&mut self, e: &Expr) -> Result<Value, MuError> {
        self.nest(|this| this.expr_inner(e))
    }

    fn expr_inner(&mut self, e: &Expr) -> Result<Value, MuError> {
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
            Expr::Call(callee, args) => self.call_expr(callee, args)?,
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
            Expr::Compare(left, op, right) => {
                let (l, r) = (self.expr(left)?, self.expr(right)?);
                Value::Bool(compare(*op, &l, &r)?)
            }
            Expr::Logic(op, operands) => self.logic(*op, operands)?,
            Expr::Not(inner) => match self.expr(inner)? {
                Value::Bool(b) => Value::Bool(!b),
                other => return Err(MuError::Not(type_name(&other))),
            },
        })
    }

    /// `f(...)`, `module.f(...)` or `value.method(...)`. Kept out of
    /// [`Evaluator::expr_inner`] so that its stack frame, paid at every
    /// level of nesting, stays small.
    #[inline(never)]
    fn call_expr(&mut self, callee: &Expr, args: &[Expr]) -> Result<Value, MuError> {
        let mut values = Vec::with_capacity(args.len());
        let receiver = match callee {
            Expr::Attr(recv, method) if self.is_value(recv) => Some((self.expr(recv)?, method)),
            _ => None,
        };
        for a in args {
            values.push(self.expr(a)?);
        }
        match receiver {
            Some((recv, method)) => self.method(recv, method, values),
            None => {
                let name = qualified_name(callee).ok_or(MuError::NotCallable)?;
                self.call_named(name, values)
            }
        }
    }

    /// A flat `&&` or `||` chain, short-circuiting when running.
    #[inline(never)]
    fn logic(&mut self, op: LogicOp, operands: &[Expr]) -> Result<Value, MuError> {
        let mut result = op == LogicOp::And;
        for operand in operands {
            let v = self.condition(operand)?;
            if !self.dry && v != result {
                // `false && ...` and `true || ...`: short circuit.
                return Ok(Value::Bool(v));
            }
            result = if op == LogicOp::And {
                result && v
            } else {
                result || v
            };
        }
        Ok(Value::Bool(result))
    }

    /// Whether `recv` in `recv.method(...)` is a value (a variable, or not
    /// a plain name) rather than a module (`commands.frame()`).
    fn is_value(&self, recv: &Expr) -> bool {
        match recv {
            Expr::Name(name) => self.variable(name).is_some(),
            Expr::Attr(..) => qualified_name(recv).is_none(),
            _ => true,
        }
    }

    fn variable(&self, name: &str) -> Option<&Value> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|v| v.name == name)
            .map(|v| &v.value)
    }

    fn lookup(&self, name: &str) -> Result<Value, MuError> {
        if let Some(v) = self.variable(name) {
            return Ok(v.clone());
        }
        if let Some(def) = self.user_function(name) {
            return Ok(Value::Func(def));
        }
        find_constant(Module::Commands, name)
            .map(Value::Int)
            .ok_or_else(|| MuError::UnknownIdentifier {
                name: name.to_string(),
            })
    }

    /// Calls a function by its (possibly qualified) name: a variable
    /// holding a function, a user function, a cast or `regex`, a command.
    fn call_named(&mut self, name: String, args: Vec<Value>) -> Result<Value, MuError> {
        if !name.contains('.') {
            let func = match self.variable(&name) {
                Some(Value::Func(def)) => Some(def.clone()),
                Some(_) => return Err(MuError::NotCallable),
                None => self.user_function(&name),
            };
            if let Some(def) = func {
                return self.call_user(&def, args);
            }
            if let Some(v) = self.builtin(&name, &args)? {
                return Ok(v);
            }
        }
        let spec = resolve(&name).ok_or(MuError::UnknownFunction { name })?;
        self.call(spec, args)
    }

    /// Casts (`string(x)`, `int(x)`, `float(x)`) and `regex(pattern)`.
    fn builtin(&mut self, name: &str, args: &[Value]) -> Result<Option<Value>, MuError> {
        if !matches!(name, "string" | "int" | "float" | "regex") {
            return Ok(None);
        }
        let [arg] = args else {
            return Err(MuError::BuiltinArgCount {
                func: name.to_owned(),
                got: args.len(),
            });
        };
        let cast_err = || MuError::Cast {
            to: if name == "regex" { "regex" } else { name }.to_owned(),
            from: type_name(arg),
        };
        Ok(Some(match (name, arg) {
            ("string", Value::StrArray(_)) => Value::Str(print(arg)),
            ("string", v) => Value::Str(to_concat(v).ok_or_else(cast_err)?),
            ("int", Value::Int(i)) => Value::Int(*i),
            // Float-to-int casts truncate and saturate.
            ("int", Value::Float(f)) => Value::Int(*f as i32),
            ("int", Value::Bool(b)) => Value::Int(i32::from(*b)),
            ("int", Value::Str(_)) if self.dry => Value::Int(0),
            ("int", Value::Str(s)) => Value::Int(parse_number(s, "int")?),
            ("float", Value::Int(i)) => Value::Float(*i as f32),
            ("float", Value::Float(f)) => Value::Float(*f),
            ("float", Value::Str(_)) if self.dry => Value::Float(0.0),
            ("float", Value::Str(s)) => Value::Float(parse_number(s, "float")?),
            ("regex", Value::Str(pattern)) => Value::Regex(MuRegex {
                pattern: pattern.clone(),
                compiled: if self.dry {
                    None
                } else {
                    Some(self.session.regex(pattern)?)
                },
            }),
            _ => return Err(cast_err()),
        }))
    }

    /// `regex.match(s)`, `event.contents()`, `event.name()`,
    /// `event.reject()`.
    fn method(&mut self, recv: Value, method: &str, args: Vec<Value>) -> Result<Value, MuError> {
        let no_method = |recv: &Value| MuError::NoMethod {
            ty: type_name(recv),
            method: method.to_owned(),
        };
        Ok(match (&recv, method, args.as_slice()) {
            (Value::Regex(re), "match", [Value::Str(s)]) => {
                Value::Bool(re.compiled.as_ref().is_some_and(|r| r.is_match(s)))
            }
            (Value::Regex(_), "match", [other]) => {
                return Err(MuError::MethodArg {
                    method: "regex.match",
                    expected: "string",
                    got: type_name(other),
                });
            }
            (Value::Event(ev), "contents", []) => Value::Str(ev.contents.clone()),
            (Value::Event(ev), "name", []) => Value::Str(ev.name.clone()),
            (Value::Event(ev), "reject", []) => {
                ev.reject();
                Value::Void
            }
            _ => return Err(no_method(&recv)),
        })
    }

    fn call(&mut self, spec: &'static CmdSpec, args: Vec<Value>) -> Result<Value, MuError> {
        let args = coerce(spec, args)?;
        if self.dry {
            return Ok(spec.ret.placeholder());
        }
        let result = self
            .session
            .run(spec.cmd, &args, self.now)
            .map_err(|error| MuError::Command {
                func: spec.name,
                error,
            });
        // RV runs an event's handlers inside the command that fires it.
        if !self.session.fired.is_empty() {
            dispatch(self.session, self.now, Some(&mut *self.budget));
        }
        result
    }
}

/// Runs the handlers of every event fired and not yet dispatched, in the
/// order fired (rv-events.md §1, §3). With a budget (during an
/// evaluation) the handlers share it; without, each handler run gets a
/// fresh one. A handler that fails is logged and counts as having
/// rejected the event.
pub(super) fn dispatch(session: &mut Session, now: Instant, mut budget: Option<&mut Budget>) {
    // Events the handlers fire are dispatched by the command that fires
    // them, inside the handler, as in RV.
    let batch = std::mem::take(&mut session.fired);
    for (name, contents) in batch {
        for (mode, def) in session.modes.handlers(&name) {
            let event = Arc::new(EventData::new(&name, &contents));
            let mut fresh = Budget::fresh(session);
            let budget = match budget.as_deref_mut() {
                Some(budget) => budget,
                None => &mut fresh,
            };
            let mut handler = Evaluator::new(session, now, false, budget);
            handler.scopes.clear();
            match handler.call_user(&def, vec![Value::Event(event.clone())]) {
                Ok(_) if event.is_rejected() => {}
                Ok(_) => break,
                Err(error) => tracing::warn!(
                    event = %name,
                    handler = %def.name,
                    %mode,
                    %error,
                    "event handler failed; the event goes on as if rejected"
                ),
            }
        }
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
                | (Param::OptStrArray, v @ (Value::StrArray(_) | Value::Nil))
                | (Param::Func, v @ Value::Func(_)) => v,
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
        Value::Void | Value::StrArray(_) | Value::Func(_) | Value::Event(_) | Value::Regex(_) => {
            return None;
        }
    })
}

fn arith(op: BinOp, a: Value, b: Value) -> Result<Value, MuError> {
    let sym = if op == BinOp::Add { "+" } else { "-" };
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
        Value::Func(def) => format!("{} {}", def.name, def.signature()),
        Value::Event(_) => "Event".to_string(),
        Value::Regex(re) => format!("regex {}", quote(&re.pattern)),
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
