//! Go's `filepath.Match` for one host label, as kubelet's `URLsMatch` applies it to each
//! label of a key.

/// One element of a `filepath.Match` pattern.
enum Token {
    Literal(char),
    AnyChar,
    Star,
    Class { negated: bool, ranges: Vec<(char, char)> },
}

/// Go's `filepath.Match` for a single host label (no `/` inside), case-sensitive.
/// `None` is Go's `ErrBadPattern`, which kubelet treats as no match.
pub(super) fn glob_match(pattern: &str, text: &str) -> Option<bool> {
    let tokens = tokenize(pattern)?;
    let text: Vec<char> = text.chars().collect();
    Some(match_tokens(&tokens, &text))
}

fn tokenize(pattern: &str) -> Option<Vec<Token>> {
    let mut chars = pattern.chars().peekable();
    let mut out = Vec::new();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' => Token::Star,
            '?' => Token::AnyChar,
            '\\' => Token::Literal(chars.next()?),
            '[' => {
                let negated = chars.next_if_eq(&'^').is_some();
                let mut ranges = Vec::new();
                loop {
                    if chars.peek() == Some(&']') && !ranges.is_empty() {
                        chars.next();
                        break;
                    }
                    let lo = class_char(&mut chars)?;
                    let hi = if chars.next_if_eq(&'-').is_some() {
                        class_char(&mut chars)?
                    } else {
                        lo
                    };
                    ranges.push((lo, hi));
                }
                Token::Class { negated, ranges }
            }
            c => Token::Literal(c),
        });
    }
    Some(out)
}

/// Go's `getEsc`: an unescaped `-` or `]` here, or running out, is a bad pattern.
fn class_char(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
    match chars.next()? {
        '-' | ']' => None,
        '\\' => chars.next(),
        c => Some(c),
    }
}

/// Glob matching in O(tokens × text) time: on a mismatch only the most recent `*` is
/// retried one character further, which is enough because a `*` matches any run. (The
/// recursive form retried every `*` and was exponential: a pull-secret key with many `*`
/// against a long host name, which anyone who can create a Secret can write, took minutes.)
fn match_tokens(tokens: &[Token], text: &[char]) -> bool {
    let (mut t, mut i) = (0, 0);
    // Where the last `*` was and how much text it has taken so far.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(tok) = tokens.get(t) {
            if matches!(tok, Token::Star) {
                star = Some((t, i));
                t += 1;
                continue;
            }
            if let Some(&c) = text.get(i) {
                let hit = match tok {
                    Token::Literal(l) => *l == c,
                    Token::AnyChar => true,
                    Token::Class { negated, ranges } => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated,
                    Token::Star => false,
                };
                if hit {
                    t += 1;
                    i += 1;
                    continue;
                }
            }
        } else if i == text.len() {
            return true;
        }
        match star {
            Some((st, si)) if si < text.len() => {
                star = Some((st, si + 1));
                t = st + 1;
                i = si + 1;
            }
            _ => return false,
        }
    }
}
