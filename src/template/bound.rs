//! A bound on what a template can build, checked when it is compiled.
//!
//! Fuel bounds a template's steps and `Capped` its output, but neither bounds the values it
//! builds along the way: `{% set b = a ~ a %}` forty times is forty steps and a terabyte. Rule
//! files are handed around, so this is a property of the template language remedy accepts:
//!
//! - no statement binds a value (`set`, `with`, `macro`, `call`, `filter` blocks, `do`,
//!   imports), so nothing built can be fed back into itself;
//! - one expression combines at most `MAX_WEIGHT` values (`a ~ b ~ c` is three), and `*`
//!   only repeats by a small constant;
//! - the filters that can amplify (`replace`, `join`) are remedy's own, capped versions
//!   (`capped.rs`), and those taking a size (`batch`, `slice`, `indent`) are not offered.
//!
//! So a value is at most `MAX_WEIGHT` times the largest value the template reads (or a capped
//! filter's result), whatever it does.

use minijinja::machinery::ast::{self, BinOpKind, CallArg, Expr, Stmt};

/// How many values one expression may combine.
pub const MAX_WEIGHT: u64 = 32;

/// Filters that take a size, or that repeat their input by one: not offered to templates.
pub(super) const REFUSED_FILTERS: &[&str] = &["batch", "slice", "indent"];

/// Functions a template may call (the others are `namespace`, which binds, and `debug`).
const ALLOWED_CALLS: &[&str] = &["range", "dict"];

/// Filters whose result can be larger than their input by a constant factor (escaping,
/// one value per character).
const EXPANDING_FILTERS: &[(&str, u64)] = &[
    ("list", 4),
    ("tojson", 6),
    ("pprint", 6),
    ("urlencode", 3),
    ("escape", 6),
    ("e", 6),
    ("split", 4),
    ("lines", 4),
    ("items", 2),
    ("dictsort", 2),
    // Case mapping can lengthen text (`ß` upper-cases to `SS`).
    ("upper", 3),
    ("lower", 3),
    ("title", 3),
    ("capitalize", 3),
];

/// Why a template is refused, and where (1-based line and column in its source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbounded {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Check a parsed template; every problem is reported, not only the first.
pub fn check(stmt: &Stmt<'_>, skip_columns: usize) -> Vec<Unbounded> {
    let mut c = Checker {
        out: Vec::new(),
        skip: skip_columns,
        loop_vars: Vec::new(),
    };
    c.stmt(stmt);
    c.out
}

struct Checker {
    out: Vec<Unbounded>,
    /// Characters of wrapper before the first line's text (conditions are wrapped).
    skip: usize,
    /// Loop variables in scope, with the weight of what they iterate over: an item is no
    /// larger than its sequence, so nested loops cannot multiply.
    loop_vars: Vec<(String, u64)>,
}

impl Checker {
    fn refuse(&mut self, span: minijinja::machinery::Span, message: String) {
        let line = span.start_line as usize;
        let column = span.start_col as usize + 1;
        let column = if line == 1 {
            column.saturating_sub(self.skip).max(1)
        } else {
            column
        };
        if !self.out.iter().any(|u| u.line == line && u.column == column) {
            self.out.push(Unbounded { line, column, message });
        }
    }

    fn body(&mut self, stmts: &[Stmt<'_>]) {
        for s in stmts {
            self.stmt(s);
        }
    }

    fn stmt(&mut self, stmt: &Stmt<'_>) {
        let binds = |what: &str| {
            format!(
                "`{what}` is not available in rule templates: a value bound to a name can be fed back into itself and grow without bound; write the expression where it is used"
            )
        };
        match stmt {
            Stmt::Template(t) => self.body(&t.children),
            Stmt::EmitExpr(e) => {
                self.expr(&e.expr);
            }
            Stmt::EmitRaw(_) | Stmt::Continue(_) | Stmt::Break(_) => {}
            Stmt::ForLoop(f) => {
                let w = self.expr(&f.iter);
                // A loop's `else` runs with none of its variables bound.
                self.body(&f.else_body);
                let before = self.loop_vars.len();
                bind_targets(&f.target, w, &mut self.loop_vars);
                if let Some(e) = &f.filter_expr {
                    self.expr(e);
                }
                if f.recursive {
                    self.refuse(f.span(), "recursive loops are not available in rule templates".into());
                }
                self.body(&f.body);
                self.loop_vars.truncate(before);
            }
            Stmt::IfCond(i) => {
                self.expr(&i.expr);
                self.body(&i.true_body);
                self.body(&i.false_body);
            }
            Stmt::AutoEscape(a) => self.body(&a.body),
            Stmt::WithBlock(s) => self.refuse(s.span(), binds("{% with %}")),
            Stmt::Set(s) => self.refuse(s.span(), binds("{% set %}")),
            Stmt::SetBlock(s) => self.refuse(s.span(), binds("{% set %}")),
            Stmt::FilterBlock(s) => self.refuse(s.span(), binds("{% filter %}")),
            Stmt::Macro(s) => self.refuse(s.span(), binds("{% macro %}")),
            Stmt::CallBlock(s) => self.refuse(s.span(), binds("{% call %}")),
            Stmt::Do(s) => self.refuse(s.span(), binds("{% do %}")),
            Stmt::Block(s) => self.refuse(s.span(), binds("{% block %}")),
            Stmt::Import(s) => self.refuse(s.span(), binds("{% import %}")),
            Stmt::FromImport(s) => self.refuse(s.span(), binds("{% from %}")),
            Stmt::Extends(s) => self.refuse(s.span(), binds("{% extends %}")),
            Stmt::Include(s) => self.refuse(s.span(), binds("{% include %}")),
        }
    }

    fn args(&mut self, args: &[CallArg<'_>]) -> u64 {
        args.iter()
            .map(|a| match a {
                CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => self.expr(e),
            })
            .sum()
    }

    /// The weight of an expression: how many values of the context (or literals, or capped
    /// filter results) its value can be made of, at most.
    fn expr(&mut self, expr: &Expr<'_>) -> u64 {
        let w = match expr {
            Expr::Var(v) => self
                .loop_vars
                .iter()
                .rev()
                .find(|(n, _)| n == v.id)
                .map_or(1, |(_, w)| *w),
            Expr::Const(_) => 1,
            Expr::GetAttr(g) => self.expr(&g.expr),
            Expr::GetItem(g) => {
                self.expr(&g.subscript_expr);
                self.expr(&g.expr)
            }
            Expr::Slice(s) => {
                for e in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(e);
                }
                self.expr(&s.expr)
            }
            Expr::UnaryOp(u) => self.expr(&u.expr),
            Expr::Compare(c) => {
                self.expr(&c.expr);
                for op in &c.ops {
                    self.expr(&op.expr);
                }
                1
            }
            Expr::Test(t) => {
                self.expr(&t.expr);
                self.args(&t.args);
                1
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr);
                let t = self.expr(&i.true_expr);
                let f = i.false_expr.as_ref().map_or(1, |e| self.expr(e));
                t.max(f)
            }
            Expr::BinOp(b) => self.binop(b),
            Expr::Filter(f) => self.filter(f),
            Expr::Call(c) => {
                let name = match &c.expr {
                    Expr::Var(v) => Some(v.id),
                    _ => None,
                };
                if !name.is_some_and(|n| ALLOWED_CALLS.contains(&n)) {
                    self.refuse(
                        c.span(),
                        format!(
                            "calling {} is not available in rule templates (only {})",
                            name.map_or("a method".to_string(), |n| format!("`{n}()`")),
                            ALLOWED_CALLS
                                .iter()
                                .map(|n| format!("`{n}()`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
                // `range` builds numbers only (minijinja caps its length); `dict` holds its arguments.
                self.args(&c.args).max(1)
            }
            Expr::List(l) => l.items.iter().map(|e| self.expr(e)).sum::<u64>().max(1),
            Expr::Tuple(t) => t.items.iter().map(|e| self.expr(e)).sum::<u64>().max(1),
            Expr::Map(m) => {
                let k: u64 = m.keys.iter().map(|e| self.expr(e)).sum();
                let v: u64 = m.values.iter().map(|e| self.expr(e)).sum();
                (k + v).max(1)
            }
        };
        if w > MAX_WEIGHT {
            self.refuse(
                span_of(expr),
                format!(
                    "this expression combines more than {MAX_WEIGHT} values (or repeats one that often): rule templates are bounded so that no rule can build a value of unbounded size"
                ),
            );
            // Reported once, at the outermost place it is passed.
            return 1;
        }
        w
    }

    fn binop(&mut self, b: &ast::Spanned<ast::BinOp<'_>>) -> u64 {
        let (l, r) = (self.expr(&b.left), self.expr(&b.right));
        match b.op {
            BinOpKind::Add | BinOpKind::Concat => l + r,
            BinOpKind::Mul => {
                let constant = |e: &Expr<'_>| match e {
                    Expr::Const(c) => c.value.as_i64(),
                    _ => None,
                };
                match (constant(&b.left), constant(&b.right)) {
                    (_, Some(k)) => l.saturating_mul(k.unsigned_abs()),
                    (Some(k), _) => r.saturating_mul(k.unsigned_abs()),
                    (None, None) => {
                        self.refuse(
                            b.span(),
                            "`*` needs a number written in the template on one side: `x * y` could repeat a string by any amount".into(),
                        );
                        1
                    }
                }
            }
            BinOpKind::Pow => {
                if !matches!(&b.right, Expr::Const(_)) {
                    self.refuse(
                        b.span(),
                        "`**` needs a number written in the template as its exponent".into(),
                    );
                }
                1
            }
            // Comparisons and arithmetic give a number or a boolean; `and`/`or` one operand.
            BinOpKind::ScAnd | BinOpKind::ScOr => l.max(r),
            _ => 1,
        }
    }

    fn filter(&mut self, f: &ast::Spanned<ast::Filter<'_>>) -> u64 {
        let input = f.expr.as_ref().map_or(1, |e| self.expr(e));
        let args = self.args(&f.args);
        if REFUSED_FILTERS.contains(&f.name) {
            self.refuse(
                f.span(),
                format!(
                    "filter `{}` is not available in rule templates: its size argument could make a value of any size",
                    f.name
                ),
            );
            return 1;
        }
        match f.name {
            // remedy's own capped versions: their result is never over `capped::MAX_VALUE`.
            "replace" | "join" => 1,
            // Lookups and reductions: a part of the input, or a number.
            "length" | "count" | "int" | "float" | "abs" | "round" | "bool" | "sum" => 1,
            name => {
                let factor = EXPANDING_FILTERS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map_or(1, |(_, k)| *k);
                (input + args).saturating_mul(factor)
            }
        }
    }
}

/// Loop targets (`x`, or `k, v`) each get the weight of the sequence.
fn bind_targets(target: &Expr<'_>, w: u64, vars: &mut Vec<(String, u64)>) {
    match target {
        Expr::Var(v) => vars.push((v.id.to_string(), w)),
        Expr::Tuple(t) => t.items.iter().for_each(|e| bind_targets(e, w, vars)),
        Expr::List(l) => l.items.iter().for_each(|e| bind_targets(e, w, vars)),
        _ => {}
    }
}

fn span_of(e: &Expr<'_>) -> minijinja::machinery::Span {
    match e {
        Expr::Var(s) => s.span(),
        Expr::Const(s) => s.span(),
        Expr::Slice(s) => s.span(),
        Expr::UnaryOp(s) => s.span(),
        Expr::BinOp(s) => s.span(),
        Expr::Compare(s) => s.span(),
        Expr::IfExpr(s) => s.span(),
        Expr::Filter(s) => s.span(),
        Expr::Test(s) => s.span(),
        Expr::GetAttr(s) => s.span(),
        Expr::GetItem(s) => s.span(),
        Expr::Call(s) => s.span(),
        Expr::List(s) => s.span(),
        Expr::Tuple(s) => s.span(),
        Expr::Map(s) => s.span(),
    }
}
