//! The lexer and recursive-descent parser shared by the Mu and Python front
//! ends. Both dialects parse into the same small AST; the dialect decides the
//! literal spellings (`true`/`True`), the string quotes, comments, array
//! syntax (`string[] {..}` or `[..]`), `let` and blocks (Mu only) and whether a
//! newline separates statements (Python only).
//!
//! Every recursive step counts against [`MAX_DEPTH`], including postfix chains
//! (`a.b.c`, `f()()`), so no input can build a tree deep enough to exhaust the
//! stack while parsing, evaluating or dropping it.

use super::MAX_DEPTH;

/// Which language is being parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dialect {
    Mu,
    Python,
}

/// A lexical token.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Float(f64),
    Str(String),
    Punct(char),
    /// A two-character operator (Mu only): `==`, `!=`, `<=`, `>=`, `&&`, `||`.
    Op(&'static str),
    /// A statement-ending newline (Python only, outside brackets).
    Newline,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier {s}"),
            Tok::Int(i) => format!("number {i}"),
            Tok::Float(f) => format!("number {f}"),
            Tok::Str(_) => "a string literal".to_string(),
            Tok::Punct(c) => format!("'{c}'"),
            Tok::Op(op) => format!("'{op}'"),
            Tok::Newline => "end of line".to_string(),
            Tok::Eof => "end of input".to_string(),
        }
    }
}

/// What went wrong while lexing or parsing.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum ErrorKind {
    UnexpectedChar(char),
    UnterminatedString,
    UnterminatedComment,
    BadEscape(char),
    IntTooLarge,
    Expected {
        expected: &'static str,
        found: String,
    },
    TooDeep,
}

/// A lexing or parsing failure at a byte offset of the input.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct ParseError {
    pub offset: usize,
    pub kind: ErrorKind,
}

impl ParseError {
    /// The 1-based line and character (counted in chars) of the error.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        let upto = src.get(..self.offset.min(src.len())).unwrap_or(src);
        let line = upto.matches('\n').count() + 1;
        let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

/// `+` or `-` in a sum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BinOp {
    Add,
    Sub,
}

/// A comparison (Mu only). `eq`/`neq` parse as [`CmpOp::Eq`]/[`CmpOp::Ne`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl CmpOp {
    /// The operator as written in messages.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Gt => ">",
            CmpOp::Le => "<=",
            CmpOp::Ge => ">=",
        }
    }
}

/// `&&` or `||` (Mu only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LogicOp {
    And,
    Or,
}

/// A Mu type as written in a declaration or a function signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TypeName {
    Void,
    Bool,
    Int,
    Float,
    String,
    StringArray,
    Event,
}

impl TypeName {
    /// The type as Mu writes it.
    pub fn mu_name(self) -> &'static str {
        match self {
            TypeName::Void => "void",
            TypeName::Bool => "bool",
            TypeName::Int => "int",
            TypeName::Float => "float",
            TypeName::String => "string",
            TypeName::StringArray => "string[]",
            TypeName::Event => "Event",
        }
    }
}

/// A user function, `function: name (ret; type param, ...) { body }`.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct FnDef {
    pub name: String,
    pub ret: TypeName,
    pub params: Vec<(TypeName, String)>,
    pub body: Vec<Stmt>,
}

impl FnDef {
    /// `(void; Event event)`, for messages.
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(t, n)| format!("{} {n}", t.mu_name()))
            .collect();
        format!("({}; {})", self.ret.mu_name(), params.join(", "))
    }
}

/// An expression. Offsets are byte offsets into the source, for messages.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Expr {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    /// `nil` in Mu, `None` in Python.
    Nil,
    Name(String),
    Attr(Box<Expr>, String),
    Call(Box<Expr>, Vec<Expr>),
    Neg(Box<Expr>),
    /// A left-associative chain `first op e1 op e2 ...`, kept flat so long
    /// chains never recurse.
    Sum(Box<Expr>, Vec<(BinOp, Expr)>),
    /// `string[] { .. }` in Mu, `[ .. ]` in Python.
    Array(Vec<Expr>),
    /// `a == b`, `a neq b`, `a < b`, ... (Mu only; comparisons do not chain).
    Compare(Box<Expr>, CmpOp, Box<Expr>),
    /// A flat chain `e1 && e2 && ...` or `e1 || e2 || ...` (Mu only).
    Logic(LogicOp, Vec<Expr>),
    /// `!e` (Mu only).
    Not(Box<Expr>),
}

/// A statement.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Stmt {
    Expr(Expr),
    /// `let name = expr` (Mu only).
    Let(String, Expr),
    /// `{ ... }` (Mu only); opens a scope.
    Block(Vec<Stmt>),
    /// `require name;` (Mu only): accepted, no effect.
    Require(String),
    /// `type name = expr, name2, ...;` (Mu only).
    Decl(TypeName, Vec<(String, Option<Expr>)>),
    /// `name = expr;` (Mu only).
    Assign(String, Expr),
    /// `if (cond) stmt [else stmt]` (Mu only).
    If(Expr, Box<Stmt>, Option<Box<Stmt>>),
    /// `while (cond) stmt` (Mu only).
    While(Expr, Box<Stmt>),
    /// `for_each (name; array) stmt` (Mu only).
    ForEach(String, Expr, Box<Stmt>),
    /// `function: name (ret; params) { body }` (Mu only).
    Function(std::sync::Arc<FnDef>),
    /// `return [expr];` (Mu only).
    Return(Option<Expr>),
}

impl Stmt {
    /// Statements that end with their own `}` or body and need no `;`.
    fn is_compound(&self) -> bool {
        matches!(
            self,
            Stmt::Block(_) | Stmt::If(..) | Stmt::While(..) | Stmt::ForEach(..) | Stmt::Function(_)
        )
    }
}

fn lex(src: &str, dialect: Dialect) -> Result<Vec<(usize, Tok)>, ParseError> {
    let bytes = src.as_bytes();
    let mut toks: Vec<(usize, Tok)> = Vec::new();
    let mut i = 0;
    let mut brackets = 0usize;
    let err = |offset, kind| Err(ParseError { offset, kind });
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\n' => {
                if dialect == Dialect::Python
                    && brackets == 0
                    && !matches!(toks.last(), None | Some((_, Tok::Newline)))
                {
                    toks.push((i, Tok::Newline));
                }
                i += 1;
            }
            b' ' | b'\t' | b'\r' | 0x0c => i += 1,
            b'#' if dialect == Dialect::Python => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if dialect == Dialect::Mu && bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if dialect == Dialect::Mu && bytes.get(i + 1) == Some(&b'*') => {
                let start = i;
                match src[i + 2..].find("*/") {
                    Some(end) => i = i + 2 + end + 2,
                    None => return err(start, ErrorKind::UnterminatedComment),
                }
            }
            b'"' => {
                let (s, next) = lex_string(src, i, b'"', dialect)?;
                toks.push((i, Tok::Str(s)));
                i = next;
            }
            b'\'' if dialect == Dialect::Python => {
                let (s, next) = lex_string(src, i, b'\'', dialect)?;
                toks.push((i, Tok::Str(s)));
                i = next;
            }
            b'0'..=b'9' => {
                let (tok, next) = lex_number(src, i)?;
                toks.push((i, tok));
                i = next;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                toks.push((start, Tok::Ident(src[start..i].to_string())));
            }
            b'=' | b'!' | b'<' | b'>' | b'&' | b'|' | b':' if dialect == Dialect::Mu => {
                let two = match (c, bytes.get(i + 1)) {
                    (b'=', Some(b'=')) => Some("=="),
                    (b'!', Some(b'=')) => Some("!="),
                    (b'<', Some(b'=')) => Some("<="),
                    (b'>', Some(b'=')) => Some(">="),
                    (b'&', Some(b'&')) => Some("&&"),
                    (b'|', Some(b'|')) => Some("||"),
                    _ => None,
                };
                if let Some(op) = two {
                    toks.push((i, Tok::Op(op)));
                    i += 2;
                } else if matches!(c, b'&' | b'|') {
                    return err(i, ErrorKind::UnexpectedChar(char::from(c)));
                } else {
                    toks.push((i, Tok::Punct(char::from(c))));
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' | b')' | b']' | b'}' | b',' | b';' | b'.' | b'+' | b'-' | b'=' => {
                match c {
                    b'(' | b'[' | b'{' => brackets += 1,
                    b')' | b']' | b'}' => brackets = brackets.saturating_sub(1),
                    _ => {}
                }
                toks.push((i, Tok::Punct(char::from(c))));
                i += 1;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or('\u{fffd}');
                return err(i, ErrorKind::UnexpectedChar(ch));
            }
        }
    }
    toks.push((src.len(), Tok::Eof));
    Ok(toks)
}

/// Lexes a quoted string starting at `start` (the opening quote). Returns the
/// decoded text and the offset after the closing quote.
fn lex_string(
    src: &str,
    start: usize,
    quote: u8,
    dialect: Dialect,
) -> Result<(String, usize), ParseError> {
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    let unterminated = ParseError {
        offset: start,
        kind: ErrorKind::UnterminatedString,
    };
    while let Some((off, c)) = chars.next() {
        match c {
            '\n' => return Err(unterminated),
            c if c as u32 == u32::from(quote) => return Ok((out, start + 1 + off + 1)),
            '\\' => {
                let Some((eoff, e)) = chars.next() else {
                    return Err(unterminated);
                };
                let hex = |n: usize, chars: &mut std::str::CharIndices<'_>| {
                    let mut v = 0u32;
                    for _ in 0..n {
                        let d = chars.next().and_then(|(_, h)| h.to_digit(16))?;
                        v = v * 16 + d;
                    }
                    char::from_u32(v)
                };
                let decoded = match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'v' => '\u{b}',
                    'a' => '\u{7}',
                    '0' => '\0',
                    '\\' | '"' | '\'' => e,
                    'x' => hex(2, &mut chars).ok_or(ParseError {
                        offset: start + 1 + eoff,
                        kind: ErrorKind::BadEscape('x'),
                    })?,
                    'u' => hex(4, &mut chars).ok_or(ParseError {
                        offset: start + 1 + eoff,
                        kind: ErrorKind::BadEscape('u'),
                    })?,
                    '\n' if dialect == Dialect::Python => continue,
                    other if dialect == Dialect::Python => {
                        // Python keeps an unknown escape as written.
                        out.push('\\');
                        other
                    }
                    other => {
                        return Err(ParseError {
                            offset: start + 1 + eoff,
                            kind: ErrorKind::BadEscape(other),
                        });
                    }
                };
                out.push(decoded);
            }
            c => out.push(c),
        }
    }
    Err(unterminated)
}

/// Lexes `123`, `1.5`, `24.`, `1e3`, `2.5e-2`.
fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let b = src.as_bytes();
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits(start);
    let mut float = false;
    if b.get(i) == Some(&b'.')
        && !b
            .get(i + 1)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        float = true;
        i = digits(i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            float = true;
            i = digits(j);
        }
    }
    let text = &src[start..i];
    let tok = if float {
        // The text is digits, an optional fraction and exponent: always valid.
        Tok::Float(text.parse().unwrap_or(f64::NAN))
    } else {
        Tok::Int(text.parse().map_err(|_| ParseError {
            offset: start,
            kind: ErrorKind::IntTooLarge,
        })?)
    };
    Ok((tok, i))
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    depth: usize,
    dialect: Dialect,
}

/// Parses a whole program: a list of statements separated by `;` (and, in
/// Python, newlines).
pub(super) fn parse(src: &str, dialect: Dialect) -> Result<Vec<Stmt>, ParseError> {
    let toks = lex(src, dialect)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        dialect,
    };
    let stmts = p.stmt_list()?;
    p.expect_eof()?;
    Ok(stmts)
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.toks.get(self.pos).map_or(&Tok::Eof, |(_, t)| t)
    }

    fn offset(&self) -> usize {
        self.toks
            .get(self.pos)
            .or(self.toks.last())
            .map_or(0, |(o, _)| *o)
    }

    fn bump(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn is_punct(&self, c: char) -> bool {
        *self.peek() == Tok::Punct(c)
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.is_punct(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn fail<T>(&self, expected: &'static str) -> Result<T, ParseError> {
        Err(ParseError {
            offset: self.offset(),
            kind: ErrorKind::Expected {
                expected,
                found: self.peek().describe(),
            },
        })
    }

    fn expect(&mut self, c: char, expected: &'static str) -> Result<(), ParseError> {
        if self.eat(c) {
            Ok(())
        } else {
            self.fail(expected)
        }
    }

    fn expect_eof(&self) -> Result<(), ParseError> {
        if *self.peek() == Tok::Eof {
            Ok(())
        } else {
            self.fail("';' or end of input")
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(ParseError {
                offset: self.offset(),
                kind: ErrorKind::TooDeep,
            })
        } else {
            Ok(())
        }
    }

    fn is_separator(&self) -> bool {
        self.is_punct(';') || *self.peek() == Tok::Newline
    }

    /// Statements up to `}` or the end of input.
    fn stmt_list(&mut self) -> Result<Vec<Stmt>, ParseError> {
        let mut out = Vec::new();
        loop {
            while self.is_separator() {
                self.pos += 1;
            }
            if self.is_punct('}') || *self.peek() == Tok::Eof {
                return Ok(out);
            }
            let stmt = self.stmt()?;
            let is_block = stmt.is_compound();
            out.push(stmt);
            if !(is_block || self.is_separator() || self.is_punct('}') || *self.peek() == Tok::Eof)
            {
                return self.fail("';'");
            }
        }
    }

    fn stmt(&mut self) -> Result<Stmt, ParseError> {
        if self.dialect == Dialect::Mu {
            if self.is_punct('{') {
                self.enter()?;
                self.pos += 1;
                let body = self.stmt_list()?;
                self.expect('}', "'}'")?;
                self.depth -= 1;
                return Ok(Stmt::Block(body));
            }
            if let Some(stmt) = self.mu_stmt()? {
                return Ok(stmt);
            }
            if *self.peek() == Tok::Ident("let".into()) {
                self.pos += 1;
                let Tok::Ident(name) = self.peek().clone() else {
                    return self.fail("a variable name after let");
                };
                self.pos += 1;
                self.expect('=', "'=' after the variable name")?;
                let value = self.expr()?;
                return Ok(Stmt::Let(name, value));
            }
        }
        Ok(Stmt::Expr(self.expr()?))
    }

    fn ident_at(&self, ahead: usize) -> Option<&str> {
        match self.toks.get(self.pos + ahead) {
            Some((_, Tok::Ident(name))) => Some(name),
            _ => None,
        }
    }

    fn punct_at(&self, ahead: usize, c: char) -> bool {
        matches!(self.toks.get(self.pos + ahead), Some((_, Tok::Punct(p))) if *p == c)
    }

    fn name(&mut self, expected: &'static str) -> Result<String, ParseError> {
        match self.peek().clone() {
            Tok::Ident(name) => {
                self.pos += 1;
                Ok(name)
            }
            _ => self.fail(expected),
        }
    }

    /// The type at the cursor, if a declarable type name is there (`string[]`
    /// takes three tokens), and how many tokens it spans.
    fn type_at(&self) -> Option<(TypeName, usize)> {
        let ty = match self.ident_at(0)? {
            "void" => TypeName::Void,
            "bool" => TypeName::Bool,
            "int" => TypeName::Int,
            "float" => TypeName::Float,
            "string" if self.punct_at(1, '[') && self.punct_at(2, ']') => {
                return Some((TypeName::StringArray, 3));
            }
            "string" => TypeName::String,
            "Event" => TypeName::Event,
            _ => return None,
        };
        Some((ty, 1))
    }

    fn type_name(&mut self, expected: &'static str) -> Result<TypeName, ParseError> {
        let Some((ty, len)) = self.type_at() else {
            return self.fail(expected);
        };
        self.pos += len;
        Ok(ty)
    }

    /// A statement in a body (of `if`, `else`, `while`, `for_each`): a
    /// simple one takes its `;` with it.
    fn body(&mut self) -> Result<Box<Stmt>, ParseError> {
        self.enter()?;
        let stmt = self.stmt()?;
        self.depth -= 1;
        if !stmt.is_compound() && !self.eat(';') && !self.is_punct('}') && *self.peek() != Tok::Eof
        {
            return self.fail("';'");
        }
        Ok(Box::new(stmt))
    }

    /// `( expr )`.
    fn condition(&mut self, what: &'static str) -> Result<Expr, ParseError> {
        self.expect('(', what)?;
        let cond = self.expr()?;
        self.expect(')', "')'")?;
        Ok(cond)
    }

    /// The Mu statements that start with a keyword or a type, an
    /// assignment, or `None` for an expression statement (or `let`).
    fn mu_stmt(&mut self) -> Result<Option<Stmt>, ParseError> {
        let Some(word) = self.ident_at(0).filter(|w| *w != "let").map(str::to_owned) else {
            return Ok(None);
        };
        let stmt = match word.as_str() {
            "require" => {
                self.pos += 1;
                Stmt::Require(self.name("a module name after require")?)
            }
            "function" if self.punct_at(1, ':') => {
                self.pos += 2;
                Stmt::Function(std::sync::Arc::new(self.function()?))
            }
            "if" if self.punct_at(1, '(') => {
                self.pos += 1;
                let cond = self.condition("'(' after if")?;
                let then = self.body()?;
                let otherwise = if self.ident_at(0) == Some("else") {
                    self.pos += 1;
                    Some(self.body()?)
                } else {
                    None
                };
                Stmt::If(cond, then, otherwise)
            }
            "while" if self.punct_at(1, '(') => {
                self.pos += 1;
                let cond = self.condition("'(' after while")?;
                Stmt::While(cond, self.body()?)
            }
            "for_each" if self.punct_at(1, '(') => {
                self.pos += 2;
                let var = self.name("a variable name in for_each")?;
                self.expect(';', "';' after the for_each variable")?;
                let array = self.expr()?;
                self.expect(')', "')'")?;
                Stmt::ForEach(var, array, self.body()?)
            }
            "return" => {
                self.pos += 1;
                if self.is_separator() || self.is_punct('}') || *self.peek() == Tok::Eof {
                    Stmt::Return(None)
                } else {
                    Stmt::Return(Some(self.expr()?))
                }
            }
            _ if self.punct_at(1, '=') => {
                let name = self.name("a variable name")?;
                self.pos += 1;
                Stmt::Assign(name, self.expr()?)
            }
            _ => match self.type_at() {
                Some((ty, len)) if self.ident_at(len).is_some() => {
                    self.pos += len;
                    let mut vars = Vec::new();
                    loop {
                        let name = self.name("a variable name")?;
                        let init = if self.eat('=') {
                            Some(self.expr()?)
                        } else {
                            None
                        };
                        vars.push((name, init));
                        if !self.eat(',') {
                            break;
                        }
                    }
                    Stmt::Decl(ty, vars)
                }
                _ => return Ok(None),
            },
        };
        Ok(Some(stmt))
    }

    /// After `function:`: `name (ret; type param, ...) { body }`.
    fn function(&mut self) -> Result<FnDef, ParseError> {
        let name = self.name("a function name after function:")?;
        self.expect('(', "'(' and the function's signature")?;
        let ret = self.type_name("a return type")?;
        self.expect(';', "';' after the return type")?;
        let mut params = Vec::new();
        while !self.eat(')') {
            let ty = self.type_name("a parameter type")?;
            let pname = self.name("a parameter name")?;
            params.push((ty, pname));
            if !self.eat(',') && !self.is_punct(')') {
                return self.fail("',' or ')'");
            }
        }
        if !self.is_punct('{') {
            return self.fail("'{' and the function body");
        }
        self.enter()?;
        self.pos += 1;
        let body = self.stmt_list()?;
        self.expect('}', "'}'")?;
        self.depth -= 1;
        Ok(FnDef {
            name,
            ret,
            params,
            body,
        })
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        match self.dialect {
            // `sum` counts the level against the nesting limit.
            Dialect::Mu => self.logic(LogicOp::Or),
            Dialect::Python => self.sum(),
        }
    }

    /// A flat `||` chain of `&&` chains of comparisons (Mu).
    fn logic(&mut self, op: LogicOp) -> Result<Expr, ParseError> {
        let (symbol, next) = match op {
            LogicOp::Or => ("||", Some(LogicOp::And)),
            LogicOp::And => ("&&", None),
        };
        let operand = |p: &mut Self| match next {
            Some(inner) => p.logic(inner),
            None => p.comparison(),
        };
        let first = operand(self)?;
        if *self.peek() != Tok::Op(symbol) {
            return Ok(first);
        }
        let mut all = vec![first];
        while *self.peek() == Tok::Op(symbol) {
            self.pos += 1;
            all.push(operand(self)?);
        }
        Ok(Expr::Logic(op, all))
    }

    /// `sum [op sum]` with one of `== != < > <= >= eq neq` (Mu).
    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let left = self.sum()?;
        let op = match self.peek() {
            Tok::Op("==") => CmpOp::Eq,
            Tok::Op("!=") => CmpOp::Ne,
            Tok::Op("<=") => CmpOp::Le,
            Tok::Op(">=") => CmpOp::Ge,
            Tok::Punct('<') => CmpOp::Lt,
            Tok::Punct('>') => CmpOp::Gt,
            Tok::Ident(w) if w == "eq" => CmpOp::Eq,
            Tok::Ident(w) if w == "neq" => CmpOp::Ne,
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.sum()?;
        Ok(Expr::Compare(Box::new(left), op, Box::new(right)))
    }

    fn sum(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let first = self.unary()?;
        let mut rest = Vec::new();
        loop {
            let op = if self.eat('+') {
                BinOp::Add
            } else if self.eat('-') {
                BinOp::Sub
            } else {
                break;
            };
            rest.push((op, self.unary()?));
        }
        self.depth -= 1;
        Ok(if rest.is_empty() {
            first
        } else {
            Expr::Sum(Box::new(first), rest)
        })
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.dialect == Dialect::Mu && self.eat('!') {
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.eat('-') {
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(inner)));
        }
        if self.dialect == Dialect::Python && self.eat('+') {
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.primary()?;
        let saved = self.depth;
        loop {
            if self.eat('.') {
                self.enter()?;
                let Tok::Ident(name) = self.bump() else {
                    self.pos -= 1;
                    return self.fail("a name after '.'");
                };
                e = Expr::Attr(Box::new(e), name);
            } else if self.is_punct('(') {
                self.enter()?;
                self.pos += 1;
                let args = self.items(')')?;
                e = Expr::Call(Box::new(e), args);
            } else {
                break;
            }
        }
        self.depth = saved;
        Ok(e)
    }

    /// Comma-separated expressions up to the closing bracket (consumed).
    fn items(&mut self, close: char) -> Result<Vec<Expr>, ParseError> {
        let mut out = Vec::new();
        while !self.eat(close) {
            out.push(self.expr()?);
            if !self.eat(',') && !self.is_punct(close) {
                return self.fail(match close {
                    ')' => "',' or ')'",
                    ']' => "',' or ']'",
                    _ => "',' or '}'",
                });
            }
        }
        Ok(out)
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let mu = self.dialect == Dialect::Mu;
        let tok = self.bump();
        Ok(match tok {
            Tok::Int(i) => Expr::Int(i),
            Tok::Float(f) => Expr::Float(f),
            Tok::Str(s) => Expr::Str(s),
            Tok::Ident(name) => match name.as_str() {
                "true" if mu => Expr::Bool(true),
                "false" if mu => Expr::Bool(false),
                "nil" if mu => Expr::Nil,
                "True" if !mu => Expr::Bool(true),
                "False" if !mu => Expr::Bool(false),
                "None" if !mu => Expr::Nil,
                "string" if mu && self.is_punct('[') => {
                    self.pos += 1;
                    self.expect(']', "']' in string[]")?;
                    self.expect('{', "'{' after string[]")?;
                    self.enter()?;
                    let items = self.items('}')?;
                    self.depth -= 1;
                    Expr::Array(items)
                }
                _ => Expr::Name(name),
            },
            Tok::Punct('(') => {
                let e = self.expr()?;
                self.expect(')', "')'")?;
                e
            }
            Tok::Punct('[') if !mu => {
                self.enter()?;
                let items = self.items(']')?;
                self.depth -= 1;
                Expr::Array(items)
            }
            _ => {
                self.pos -= 1;
                return self.fail("an expression");
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_playback_button_code() {
        let stmts = parse(r#"play();"FRAME = " + frame();"#, Dialect::Mu).unwrap();
        assert_eq!(
            stmts,
            vec![
                Stmt::Expr(Expr::Call(Box::new(Expr::Name("play".into())), vec![])),
                Stmt::Expr(Expr::Sum(
                    Box::new(Expr::Str("FRAME = ".into())),
                    vec![(
                        BinOp::Add,
                        Expr::Call(Box::new(Expr::Name("frame".into())), vec![])
                    )]
                )),
            ]
        );
    }

    #[test]
    fn numbers_lex_as_int_or_float() {
        let toks = lex("1 24.0 24. 1e3 2.5e-2 007", Dialect::Mu).unwrap();
        let toks: Vec<Tok> = toks.into_iter().map(|(_, t)| t).collect();
        assert_eq!(
            toks,
            vec![
                Tok::Int(1),
                Tok::Float(24.0),
                Tok::Float(24.0),
                Tok::Float(1000.0),
                Tok::Float(0.025),
                Tok::Int(7),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn python_newlines_separate_only_outside_brackets() {
        let toks = lex("f(\n1)\n\ng()\n", Dialect::Python).unwrap();
        let newlines = toks.iter().filter(|(_, t)| *t == Tok::Newline).count();
        assert_eq!(newlines, 2);
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(
            parse("// c\n/* x */ 1 # no", Dialect::Mu).map(|_| ()),
            Err(ParseError {
                offset: 15,
                kind: ErrorKind::UnexpectedChar('#')
            })
        );
        assert_eq!(parse("1 # yes", Dialect::Python).unwrap().len(), 1);
    }

    #[test]
    fn line_col_counts_chars() {
        let e = ParseError {
            offset: 6,
            kind: ErrorKind::TooDeep,
        };
        assert_eq!(e.line_col("ab\né x"), (2, 3));
    }

    #[test]
    fn postfix_chains_count_towards_depth() {
        let long = format!("a{}", ".b".repeat(MAX_DEPTH + 1));
        assert_eq!(
            parse(&long, Dialect::Python).unwrap_err().kind,
            ErrorKind::TooDeep
        );
        let ok = format!("a{}", ".b".repeat(MAX_DEPTH - 2));
        assert!(parse(&ok, Dialect::Python).is_ok());
    }
}
