//! The parser (RFC 5228 §8.2): tokens into the tree of [`crate::ast`], with every count and
//! depth bounded by [`Limits`]. Recursion follows the nesting of blocks and tests and is checked
//! against [`Limits::max_depth`] before each level, so the stack stays small on any input.

use crate::ast::{Argument, Command, Require, Script, Test, Tests, Value};
use crate::error::{Error, Position};
use crate::lexer::{Lexer, Token};
use crate::Limits;

pub(crate) struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<(Token, Position)>,
    limits: &'a Limits,
    commands: usize,
    tests: usize,
    requires: Vec<Require>,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(src: &'a str, limits: &'a Limits) -> Parser<'a> {
        Parser {
            lexer: Lexer::new(src, limits),
            peeked: None,
            limits,
            commands: 0,
            tests: 0,
            requires: Vec::new(),
        }
    }

    fn peek(&mut self) -> Result<&(Token, Position), Error> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next()?);
        }
        Ok(self.peeked.get_or_insert((Token::Eof, Position::START)))
    }

    fn next(&mut self) -> Result<(Token, Position), Error> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lexer.next(),
        }
    }

    /// `start = commands`.
    pub(crate) fn script(mut self) -> Result<Script, Error> {
        let commands = self.commands(1, None)?;
        Ok(Script {
            commands,
            requires: self.requires,
        })
    }

    /// `commands = *command`, up to the end of the script (`open` is `None`) or the `}` closing
    /// the block opened at `open`.
    fn commands(&mut self, depth: usize, open: Option<Position>) -> Result<Vec<Command>, Error> {
        let mut commands = Vec::new();
        loop {
            let (token, pos) = self.next()?;
            match token {
                Token::Identifier(name) => commands.push(self.command(name, pos, depth)?),
                Token::RBrace if open.is_some() => return Ok(commands),
                Token::Eof => match open {
                    None => return Ok(commands),
                    Some(open) => {
                        return Err(Error::new(
                            pos,
                            format!(
                                "expected `}}` to close the block opened at line {}, column {}",
                                open.line, open.column
                            ),
                        ))
                    }
                },
                Token::RBrace => {
                    return Err(Error::new(pos, "`}` without a block to close"));
                }
                other => {
                    return Err(Error::new(
                        pos,
                        format!("expected a command, found {}", other.describe()),
                    ))
                }
            }
        }
    }

    /// `command = identifier arguments (";" / block)`.
    fn command(
        &mut self,
        name: String,
        position: Position,
        depth: usize,
    ) -> Result<Command, Error> {
        self.commands += 1;
        if self.commands > self.limits.max_commands {
            return Err(Error::limit(
                position,
                format!(
                    "the script has more than {} commands",
                    self.limits.max_commands
                ),
            ));
        }
        let (arguments, tests) = self.arguments(depth, &name, "command")?;
        if name == "require" {
            let capabilities = arguments
                .iter()
                .flat_map(|a| match &a.value {
                    Value::String(s) => std::slice::from_ref(s),
                    Value::StringList(l) => l.as_slice(),
                    _ => &[],
                })
                .cloned()
                .collect();
            self.requires.push(Require {
                position,
                capabilities,
            });
        }
        let (token, pos) = self.next()?;
        let block = match token {
            Token::Semicolon => None,
            Token::LBrace => {
                self.enter(depth, pos)?;
                Some(self.commands(depth + 1, Some(pos))?)
            }
            other => {
                let what = if tests.is_some() {
                    "`;` or a block"
                } else {
                    "`;`"
                };
                return Err(Error::new(
                    pos,
                    format!(
                        "expected {what} after the `{name}` command, found {}",
                        other.describe()
                    ),
                ));
            }
        };
        Ok(Command {
            name,
            position,
            arguments,
            tests,
            block,
        })
    }

    /// Checks that one more level of nesting (a block, a test list, a test inside a test) at
    /// `pos` stays within [`Limits::max_depth`].
    fn enter(&self, depth: usize, pos: Position) -> Result<(), Error> {
        if depth >= self.limits.max_depth {
            return Err(Error::limit(
                pos,
                format!(
                    "blocks and tests are nested more than {} deep",
                    self.limits.max_depth
                ),
            ));
        }
        Ok(())
    }

    /// `arguments = *argument [ test / test-list ]`.
    fn arguments(
        &mut self,
        depth: usize,
        owner: &str,
        kind: &str,
    ) -> Result<(Vec<Argument>, Option<Tests>), Error> {
        let mut arguments = Vec::new();
        loop {
            let pos = self.peek()?.1;
            let value = match &self.peek()?.0 {
                Token::Tag(_) | Token::Number(_) | Token::String(_) => match self.next()?.0 {
                    Token::Tag(t) => Value::Tag(t),
                    Token::Number(n) => Value::Number(n),
                    Token::String(s) => Value::String(s),
                    _ => unreachable!("peeked an argument token"),
                },
                Token::LBracket => {
                    self.next()?;
                    Value::StringList(self.string_list(pos)?)
                }
                Token::Identifier(_) => {
                    let Token::Identifier(name) = self.next()?.0 else {
                        unreachable!("peeked an identifier")
                    };
                    self.enter(depth, pos)?;
                    let test = self.test(name, pos, depth + 1)?;
                    return Ok((arguments, Some(Tests::Single(Box::new(test)))));
                }
                Token::LParen => {
                    self.next()?;
                    self.enter(depth, pos)?;
                    let list = self.test_list(depth + 1, pos)?;
                    return Ok((arguments, Some(Tests::List(list))));
                }
                _ => return Ok((arguments, None)),
            };
            if arguments.len() >= self.limits.max_arguments {
                return Err(Error::limit(
                    pos,
                    format!(
                        "the `{owner}` {kind} has more than {} arguments",
                        self.limits.max_arguments
                    ),
                ));
            }
            arguments.push(Argument {
                position: pos,
                value,
            });
        }
    }

    /// `test = identifier arguments`.
    fn test(&mut self, name: String, position: Position, depth: usize) -> Result<Test, Error> {
        self.tests += 1;
        if self.tests > self.limits.max_tests {
            return Err(Error::limit(
                position,
                format!("the script has more than {} tests", self.limits.max_tests),
            ));
        }
        let (arguments, tests) = self.arguments(depth, &name, "test")?;
        Ok(Test {
            name,
            position,
            arguments,
            tests,
        })
    }

    /// `test-list = "(" test *("," test) ")"`, after the `(` at `open`.
    fn test_list(&mut self, depth: usize, open: Position) -> Result<Vec<Test>, Error> {
        let mut list = Vec::new();
        loop {
            let (token, pos) = self.next()?;
            let Token::Identifier(name) = token else {
                return Err(Error::new(
                    pos,
                    format!("expected a test, found {}", token.describe()),
                ));
            };
            if list.len() >= self.limits.max_list_len {
                return Err(Error::limit(
                    pos,
                    format!(
                        "the test list has more than {} tests",
                        self.limits.max_list_len
                    ),
                ));
            }
            list.push(self.test(name, pos, depth)?);
            let (token, pos) = self.next()?;
            match token {
                Token::Comma => {}
                Token::RParen => return Ok(list),
                other => {
                    return Err(Error::new(
                        pos,
                        format!(
                            "expected `,` or `)` in the test list opened at line {}, column {}, found {}",
                            open.line,
                            open.column,
                            other.describe()
                        ),
                    ))
                }
            }
        }
    }

    /// `string-list = "[" string *("," string) "]"`, after the `[` at `open`.
    fn string_list(&mut self, open: Position) -> Result<Vec<String>, Error> {
        let mut list = Vec::new();
        loop {
            let (token, pos) = self.next()?;
            let Token::String(s) = token else {
                return Err(Error::new(
                    pos,
                    format!("expected a string, found {}", token.describe()),
                ));
            };
            if list.len() >= self.limits.max_list_len {
                return Err(Error::limit(
                    pos,
                    format!(
                        "the string list has more than {} strings",
                        self.limits.max_list_len
                    ),
                ));
            }
            list.push(s);
            let (token, pos) = self.next()?;
            match token {
                Token::Comma => {}
                Token::RBracket => return Ok(list),
                other => {
                    return Err(Error::new(
                        pos,
                        format!(
                            "expected `,` or `]` in the string list opened at line {}, column {}, found {}",
                            open.line,
                            open.column,
                            other.describe()
                        ),
                    ))
                }
            }
        }
    }
}
