//! The `$filter` and `$orderby` expression language of SensorThings (OGC 18-088 §9.3.3.5,
//! the OData 4.0 URL conventions subset): a tokenizer and a recursive-descent parser into
//! [`Expr`]. Written here rather than taken from a crate: the OData parsers on crates.io do
//! not read SensorThings' paths (`Datastream/@iot.id`), geography literals or arithmetic, and
//! do not say where a syntax error is — which every error here does.

use std::fmt;

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Number(f64),
    Text(String),
    /// An instant with an offset, in ms since epoch.
    Time(i64),
    /// `geography'…'` or `geometry'…'`: WKT, WGS 84 longitude/latitude.
    Geometry(geo::Geometry<f64>),
}

/// Binary operators, lowest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinaryOp {
    fn keyword(word: &str) -> Option<BinaryOp> {
        Some(match word {
            "or" => BinaryOp::Or,
            "and" => BinaryOp::And,
            "eq" => BinaryOp::Eq,
            "ne" => BinaryOp::Ne,
            "gt" => BinaryOp::Gt,
            "ge" => BinaryOp::Ge,
            "lt" => BinaryOp::Lt,
            "le" => BinaryOp::Le,
            "add" => BinaryOp::Add,
            "sub" => BinaryOp::Sub,
            "mul" => BinaryOp::Mul,
            "div" => BinaryOp::Div,
            "mod" => BinaryOp::Mod,
            _ => return None,
        })
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Lt | BinaryOp::Le
        )
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Literal(Literal),
    /// A property path: `name`, `Datastream/@iot.id`, `properties/owner`.
    Path(Vec<String>),
    Not(Box<Expr>),
    Negate(Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// A function call; the name as written (`substringof`, `geo.distance`).
    Call(String, Vec<Expr>),
}

/// A syntax error and where it is (0-based character position in the expression).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.position + 1)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A name or path: letters, digits, `_`, `@`, `.`, `/`.
    Word(String),
    Literal(Literal),
    Open,
    Close,
    Comma,
    Minus,
}

/// Longest expression accepted, in characters: a guard against hostile input.
pub const MAX_LEN: usize = 4096;
/// Deepest nesting of parentheses and operators accepted.
const MAX_DEPTH: usize = 64;

fn err(position: usize, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        position,
        message: message.into(),
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, SyntaxError> {
    if text.chars().count() > MAX_LEN {
        return Err(err(MAX_LEN, format!("longer than {MAX_LEN} characters")));
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                i += 1;
            }
            '(' => {
                out.push((start, Token::Open));
                i += 1;
            }
            ')' => {
                out.push((start, Token::Close));
                i += 1;
            }
            ',' => {
                out.push((start, Token::Comma));
                i += 1;
            }
            '-' if !chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                out.push((start, Token::Minus));
                i += 1;
            }
            '\'' => {
                let (s, next) = quoted(&chars, i)?;
                out.push((start, Token::Literal(Literal::Text(s))));
                i = next;
            }
            c if c.is_ascii_digit() || c == '-' => {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].is_ascii_alphanumeric()
                        || matches!(chars[j], '.' | ':' | '+' | '-'))
                {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                out.push((start, Token::Literal(number_or_time(&word, start)?)));
                i = j;
            }
            c if c.is_alphabetic() || c == '_' || c == '@' || c == '$' => {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].is_alphanumeric() || matches!(chars[j], '_' | '@' | '.' | '/'))
                {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                // geography'POINT(…)' and geometry'…'
                if (word == "geography" || word == "geometry") && chars.get(j) == Some(&'\'') {
                    let (wkt, next) = quoted(&chars, j)?;
                    out.push((start, Token::Literal(Literal::Geometry(geometry(&wkt, j)?))));
                    i = next;
                } else {
                    out.push((start, Token::Word(word)));
                    i = j;
                }
            }
            other => return Err(err(start, format!("unexpected character {other:?}"))),
        }
    }
    Ok(out)
}

/// A quoted string starting at `chars[i] == '\''`; `''` is a quote inside.
fn quoted(chars: &[char], i: usize) -> Result<(String, usize), SyntaxError> {
    let mut s = String::new();
    let mut j = i + 1;
    loop {
        match chars.get(j) {
            None => return Err(err(i, "a string is not closed with '")),
            Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                s.push('\'');
                j += 2;
            }
            Some('\'') => return Ok((s, j + 1)),
            Some(&c) => {
                s.push(c);
                j += 1;
            }
        }
    }
}

fn number_or_time(word: &str, position: usize) -> Result<Literal, SyntaxError> {
    let bytes = word.as_bytes();
    if bytes.len() >= 10 && bytes[4] == b'-' && bytes[7] == b'-' {
        return match super::time::parse_instant(word) {
            Ok(ms) => Ok(Literal::Time(ms)),
            Err(e) => Err(err(position, format!("{word}: {e}"))),
        };
    }
    if let Ok(n) = word.parse::<i64>() {
        return Ok(Literal::Int(n));
    }
    match word.parse::<f64>() {
        Ok(n) if n.is_finite() && !word.contains(['i', 'I', 'n', 'N']) => Ok(Literal::Number(n)),
        _ => Err(err(position, format!("{word:?} is not a number or a time"))),
    }
}

fn geometry(text: &str, position: usize) -> Result<geo::Geometry<f64>, SyntaxError> {
    use std::str::FromStr;
    let parsed = wkt::Wkt::<f64>::from_str(text.trim())
        .map_err(|e| err(position, format!("geography literal: {e}")))?;
    geo::Geometry::try_from(parsed).map_err(|e| err(position, format!("geography literal: {e}")))
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    end: usize,
    depth: usize,
}

/// Parses a `$filter` expression.
///
/// # Errors
/// A [`SyntaxError`] naming what is wrong and where.
pub fn parse(text: &str) -> Result<Expr, SyntaxError> {
    let mut p = Parser::new(text)?;
    if p.tokens.is_empty() {
        return Err(err(0, "the expression is empty"));
    }
    let e = p.expr()?;
    p.finish()?;
    Ok(e)
}

/// One `$orderby` item: an expression and whether it sorts descending.
pub type OrderItem = (Expr, bool);

/// Parses an `$orderby` list: `expr [asc|desc], …`.
///
/// # Errors
/// A [`SyntaxError`] naming what is wrong and where.
pub fn parse_orderby(text: &str) -> Result<Vec<OrderItem>, SyntaxError> {
    let mut p = Parser::new(text)?;
    let mut items = Vec::new();
    loop {
        if p.peek().is_none() {
            return Err(err(p.position(), "an $orderby item is missing"));
        }
        let e = p.additive()?;
        // Clients send either case (FROST's Python client sends `DESC`).
        let descending = match p.peek() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("desc") => {
                p.at += 1;
                true
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("asc") => {
                p.at += 1;
                false
            }
            _ => false,
        };
        items.push((e, descending));
        match p.peek() {
            Some(Token::Comma) => p.at += 1,
            None => return Ok(items),
            Some(_) => return Err(err(p.position(), "expected ',', 'asc' or 'desc'")),
        }
    }
}

impl Parser {
    fn new(text: &str) -> Result<Parser, SyntaxError> {
        Ok(Parser {
            tokens: tokenize(text)?,
            at: 0,
            end: text.chars().count(),
            depth: 0,
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(p, _)| *p)
    }

    fn finish(&self) -> Result<(), SyntaxError> {
        match self.tokens.get(self.at) {
            None => Ok(()),
            Some((p, t)) => Err(err(*p, format!("unexpected {}", describe(t)))),
        }
    }

    fn word_is(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w == keyword)
    }

    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(
                self.position(),
                format!("nested deeper than {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, SyntaxError> {
        self.enter()?;
        let mut left = self.and()?;
        while self.word_is("or") {
            self.at += 1;
            let right = self.and()?;
            left = Expr::Binary(BinaryOp::Or, Box::new(left), Box::new(right));
        }
        self.depth -= 1;
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.not()?;
        while self.word_is("and") {
            self.at += 1;
            let right = self.not()?;
            left = Expr::Binary(BinaryOp::And, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, SyntaxError> {
        if self.word_is("not") {
            self.at += 1;
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, SyntaxError> {
        let left = self.additive()?;
        if let Some(Token::Word(w)) = self.peek()
            && let Some(op) = BinaryOp::keyword(w).filter(|op| op.is_comparison())
        {
            self.at += 1;
            let right = self.additive()?;
            return Ok(Expr::Binary(op, Box::new(left), Box::new(right)));
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.multiplicative()?;
        loop {
            let op = match self.peek() {
                Some(Token::Word(w)) if w == "add" => BinaryOp::Add,
                Some(Token::Word(w)) if w == "sub" => BinaryOp::Sub,
                _ => return Ok(left),
            };
            self.at += 1;
            let right = self.multiplicative()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Token::Word(w)) if w == "mul" => BinaryOp::Mul,
                Some(Token::Word(w)) if w == "div" => BinaryOp::Div,
                Some(Token::Word(w)) if w == "mod" => BinaryOp::Mod,
                _ => return Ok(left),
            };
            self.at += 1;
            let right = self.unary()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        if matches!(self.peek(), Some(Token::Minus)) {
            self.at += 1;
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Negate(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        let position = self.position();
        let Some((_, token)) = self.tokens.get(self.at).cloned() else {
            return Err(err(position, "the expression ends too early"));
        };
        self.at += 1;
        match token {
            Token::Open => {
                let inner = self.expr()?;
                self.expect_close(position)?;
                Ok(inner)
            }
            Token::Literal(l) => Ok(Expr::Literal(l)),
            Token::Word(w) => match w.as_str() {
                "null" => Ok(Expr::Literal(Literal::Null)),
                "true" => Ok(Expr::Literal(Literal::Bool(true))),
                "false" => Ok(Expr::Literal(Literal::Bool(false))),
                _ if matches!(self.peek(), Some(Token::Open)) => {
                    self.at += 1;
                    self.enter()?;
                    let mut args = Vec::new();
                    if !matches!(self.peek(), Some(Token::Close)) {
                        loop {
                            args.push(self.expr()?);
                            if matches!(self.peek(), Some(Token::Comma)) {
                                self.at += 1;
                            } else {
                                break;
                            }
                        }
                    }
                    self.depth -= 1;
                    self.expect_close(position)?;
                    Ok(Expr::Call(w, args))
                }
                _ if BinaryOp::keyword(&w).is_some() || w == "not" => {
                    Err(err(position, format!("'{w}' needs something on its left")))
                }
                _ => {
                    let segments: Vec<String> = w.split('/').map(str::to_owned).collect();
                    if segments.iter().any(String::is_empty) {
                        return Err(err(position, format!("{w:?} is not a property path")));
                    }
                    Ok(Expr::Path(segments))
                }
            },
            other => Err(err(position, format!("unexpected {}", describe(&other)))),
        }
    }

    fn expect_close(&mut self, opened_at: usize) -> Result<(), SyntaxError> {
        match self.peek() {
            Some(Token::Close) => {
                self.at += 1;
                Ok(())
            }
            _ => Err(err(
                self.position(),
                format!(
                    "expected ')' to close the '(' at character {}",
                    opened_at + 1
                ),
            )),
        }
    }
}

fn describe(t: &Token) -> String {
    match t {
        Token::Word(w) => format!("'{w}'"),
        Token::Literal(Literal::Text(s)) => format!("'{s}'"),
        Token::Literal(_) => "a value".into(),
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
        Token::Comma => "','".into(),
        Token::Minus => "'-'".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> Box<Expr> {
        Box::new(Expr::Path(p.split('/').map(str::to_owned).collect()))
    }

    #[test]
    fn precedence_and_paths() {
        let e = parse("Datastream/@iot.id eq 3 and result gt 2.5 or not (name eq 'O''Neil')")
            .expect("parses");
        let expected = Expr::Binary(
            BinaryOp::Or,
            Box::new(Expr::Binary(
                BinaryOp::And,
                Box::new(Expr::Binary(
                    BinaryOp::Eq,
                    path("Datastream/@iot.id"),
                    Box::new(Expr::Literal(Literal::Int(3))),
                )),
                Box::new(Expr::Binary(
                    BinaryOp::Gt,
                    path("result"),
                    Box::new(Expr::Literal(Literal::Number(2.5))),
                )),
            )),
            Box::new(Expr::Not(Box::new(Expr::Binary(
                BinaryOp::Eq,
                path("name"),
                Box::new(Expr::Literal(Literal::Text("O'Neil".into()))),
            )))),
        );
        assert_eq!(e, expected);
    }

    #[test]
    fn arithmetic_binds_tighter_than_comparison() {
        let e = parse("result add 1 mul 2 lt -3").expect("parses");
        let Expr::Binary(BinaryOp::Lt, left, right) = e else {
            panic!("comparison at the top")
        };
        assert!(matches!(*left, Expr::Binary(BinaryOp::Add, _, _)));
        assert_eq!(*right, Expr::Literal(Literal::Int(-3)));
    }

    #[test]
    fn times_functions_and_geography() {
        let e = parse(
            "phenomenonTime ge 2024-03-01T00:00:00+07:00 and geo.distance(location, geography'POINT(106.36 10.35)') lt 0.1 and substringof('Tho', name)",
        )
        .expect("parses");
        let text = format!("{e:?}");
        assert!(text.contains("Time(1709226000000)"), "{text}");
        assert!(text.contains("\"geo.distance\""), "{text}");
        assert!(text.contains("\"substringof\""), "{text}");
    }

    #[test]
    fn errors_say_where() {
        for (bad, at, says) in [
            ("name eq", 7, "ends too early"),
            ("(name eq 'x'", 12, "expected ')'"),
            ("name eq 'x", 8, "not closed"),
            ("eq 3", 0, "needs something on its left"),
            ("name eq 3 3", 10, "unexpected a value"),
            ("time gt 2024-01-01T00:00:00", 8, "offset"),
            ("name # 3", 5, "unexpected character"),
            ("", 0, "empty"),
            ("location eq geography'POINT(1 2'", 21, "geography literal"),
            ("result gt 1e999", 10, "not a number"),
        ] {
            let e = parse(bad).expect_err(bad);
            assert_eq!(e.position, at, "{bad}: {e}");
            assert!(e.message.contains(says), "{bad}: {e}");
        }
        let deep = format!("{}name eq 1{}", "(".repeat(200), ")".repeat(200));
        assert!(parse(&deep).expect_err("deep").message.contains("deeper"));
        assert!(parse(&"a".repeat(MAX_LEN + 1)).is_err());
    }

    #[test]
    fn orderby_lists() {
        let items = parse_orderby("phenomenonTime desc, id").expect("parses");
        assert_eq!(items.len(), 2);
        assert!(items[0].1);
        assert!(!items[1].1);
        assert!(parse_orderby("name DESC").expect("upper case")[0].1);
        assert!(parse_orderby("name sideways").is_err());
        assert!(parse_orderby("name,").is_err());
    }
}
