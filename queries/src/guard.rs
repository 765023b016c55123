//! What a request's SQL may be, checked on the parsed text before anything is planned: one
//! statement, a query (no DDL, DML, COPY, SET, PREPARE, EXPLAIN...), naming only the guild's
//! tables and the allowed table functions. Planning then re-verifies with DataFusion's own
//! `SQLOptions` (defence in depth).

use crate::error::SqlError;
use crate::limits::SqlLimits;
use datafusion::execution::SessionState;
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// Tables a guild's SQL may name (each restricted to the guild in its scan).
pub const TABLES: [&str; 4] = ["events", "voice_sessions", "voice_days", "daily_activity"];

/// Table functions a guild's SQL may call: they only generate numbers, bounded by the time
/// and row limits.
pub const TABLE_FUNCTIONS: [&str; 2] = ["generate_series", "range"];

/// Parses `sql` into the single read-only statement it must be.
pub fn parse(sql: &str, limits: &SqlLimits) -> Result<Statement, SqlError> {
    if sql.len() > limits.max_sql_bytes {
        return Err(SqlError::TooLarge {
            size: sql.len(),
            limit: limits.max_sql_bytes,
        });
    }
    let dialect = GenericDialect {};
    let operators = count_operators(&dialect, sql)?;
    if operators > limits.max_operators {
        return Err(SqlError::TooComplex(format!(
            "{operators} operators, the limit is {}",
            limits.max_operators
        )));
    }
    let mut statements = DFParserBuilder::new(sql)
        .with_dialect(&dialect)
        .with_recursion_limit(limits.parser_recursion_limit)
        .build()
        .and_then(|mut parser| parser.parse_statements())
        .map_err(SqlError::from_datafusion)?;
    if statements.len() > 1 {
        return Err(SqlError::MultipleStatements(statements.len()));
    }
    let statement = statements.pop_front().ok_or(SqlError::Empty)?;
    match &statement {
        Statement::Statement(inner) => match inner.as_ref() {
            SqlStatement::Query(_) => Ok(statement),
            SqlStatement::Explain { .. } | SqlStatement::ExplainTable { .. } => {
                Err(SqlError::ExplainNotAllowed)
            }
            other => Err(SqlError::NotReadOnly(statement_name(&other.to_string()))),
        },
        Statement::Explain(_) => Err(SqlError::ExplainNotAllowed),
        Statement::CreateExternalTable(_) => {
            Err(SqlError::NotReadOnly("CREATE EXTERNAL TABLE".into()))
        }
        Statement::CopyTo(_) => Err(SqlError::NotReadOnly("COPY".into())),
        Statement::Reset(_) => Err(SqlError::NotReadOnly("RESET".into())),
    }
}

/// Rejects any relation that is not a guild table, an allowed table function or a CTE:
/// `information_schema.*`, `'file:///etc/passwd'`, `datafusion.public.x`...
pub fn check_tables(state: &SessionState, statement: &Statement) -> Result<(), SqlError> {
    for reference in state.resolve_table_references(statement)? {
        let qualified_ok = match (reference.catalog(), reference.schema()) {
            (None, None) | (None, Some("public")) => true,
            (Some(catalog), Some("public")) => catalog == "datafusion",
            _ => false,
        };
        let name = reference.table();
        let known = TABLES.contains(&name) || TABLE_FUNCTIONS.contains(&name);
        if !(qualified_ok && known) {
            return Err(SqlError::ForbiddenTable(reference.to_string()));
        }
    }
    Ok(())
}

/// Operators and chaining keywords in the text (tokenizing is iterative, so this is safe on
/// any input the size cap lets through).
fn count_operators(dialect: &GenericDialect, sql: &str) -> Result<usize, SqlError> {
    let tokens = Tokenizer::new(dialect, sql)
        .tokenize()
        .map_err(|e| SqlError::Parse(e.to_string()))?;
    Ok(tokens.iter().map(operator_weight).sum())
}

/// How much a token adds to the operator count: set operations and joins weigh 10, as each
/// adds a plan node every optimizer pass walks, not just an expression node.
fn operator_weight(token: &Token) -> usize {
    match token {
        Token::Word(word) => match word.keyword {
            Keyword::AND | Keyword::OR => 1,
            Keyword::UNION | Keyword::INTERSECT | Keyword::EXCEPT | Keyword::JOIN => 10,
            _ => 0,
        },
        other => usize::from(is_operator(other)),
    }
}

fn is_operator(token: &Token) -> bool {
    !matches!(
        token,
        Token::Word(_)
            | Token::EOF
            | Token::Number(..)
            | Token::Char(_)
            | Token::Comma
            | Token::Whitespace(_)
            | Token::LParen
            | Token::RParen
            | Token::Period
            | Token::SemiColon
            | Token::LBracket
            | Token::RBracket
            | Token::LBrace
            | Token::RBrace
            | Token::Placeholder(_)
            | Token::Colon
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::SingleQuotedRawStringLiteral(_)
            | Token::DoubleQuotedRawStringLiteral(_)
    )
}

/// The leading keywords of a statement, for the error message (`CREATE VIEW`, `INSERT`...).
fn statement_name(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    match words.as_slice() {
        [first, second]
            if matches!(
                first.to_ascii_uppercase().as_str(),
                "CREATE" | "DROP" | "ALTER" | "SHOW"
            ) =>
        {
            format!(
                "{} {}",
                first.to_ascii_uppercase(),
                second.to_ascii_uppercase()
            )
        }
        [first, ..] => first.to_ascii_uppercase(),
        [] => "this statement".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(sql: &str) -> &'static str {
        match parse(sql, &SqlLimits::default()) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn only_single_queries_pass() {
        assert_eq!(code("select 1"), "ok");
        assert_eq!(code("with a as (select 1) select * from a"), "ok");
        assert_eq!(code("values (1)"), "ok");
        assert_eq!(code("select 1; select 2"), "multiple_statements");
        assert_eq!(code(""), "empty");
        assert_eq!(code("insert into events values (1)"), "not_read_only");
        assert_eq!(code("create view v as select 1"), "not_read_only");
        assert_eq!(
            code("set datafusion.execution.batch_size = 1"),
            "not_read_only"
        );
        assert_eq!(code("copy (select 1) to '/tmp/x.csv'"), "not_read_only");
        assert_eq!(
            code("create external table t stored as csv location '/etc/passwd'"),
            "not_read_only"
        );
        assert_eq!(code("explain select 1"), "explain_not_allowed");
        assert_eq!(code("selec 1"), "parse");
    }

    #[test]
    fn size_and_nesting_are_capped() {
        assert_eq!(
            code(&format!("select '{}'", "a".repeat(70_000))),
            "sql_too_large"
        );
        let deep = format!("select {}1{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(code(&deep), "too_complex");
        assert_eq!(
            code(&format!("select 1{}", " + 1".repeat(300))),
            "too_complex"
        );
        assert_eq!(
            code(&format!("select 1{}", " union all select 1".repeat(26))),
            "too_complex"
        );
        assert_eq!(code(&format!("select 1{}", " + 1".repeat(250))), "ok");
        // Strings and numbers are not operators: long IN lists stay fine.
        let list: Vec<String> = (0..5_000).map(|i| format!("'{i}'")).collect();
        assert_eq!(
            code(&format!("select 1 where 'a' in ({})", list.join(","))),
            "ok"
        );
    }

    #[test]
    fn statement_names_read_well() {
        assert_eq!(statement_name("create view v as select 1"), "CREATE VIEW");
        assert_eq!(statement_name("insert into t values (1)"), "INSERT");
    }
}
