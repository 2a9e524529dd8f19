use super::*;

#[test]
fn every_client_needs_a_user_of_its_own() {
    assert!(check_users(50, 50).is_ok());
    assert!(check_users(100, 50).is_ok());
    let e = check_users(10, 50).unwrap_err();
    assert!(
        e.contains("--users 10") && e.contains("50 POP3 clients"),
        "{e}"
    );
}

#[test]
fn a_maildrop_agreeing_with_the_run_has_no_problems() {
    assert!(check_maildrop(2, (2, 300), &[100, 200]).is_empty());
    // More than delivered is fine: a delivery's 250 may still be on its way to the feeder.
    assert!(check_maildrop(1, (2, 300), &[100, 200]).is_empty());
    // A negative expectation (a removal counted before its delivery) asks for nothing.
    assert!(check_maildrop(-1, (0, 0), &[]).is_empty());
}

#[test]
fn a_maildrop_missing_deliveries_or_disagreeing_with_itself_is_reported() {
    let kinds = |p: Vec<(&'static str, String)>| p.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(kinds(check_maildrop(3, (2, 300), &[100, 200])), ["missing"]);
    assert_eq!(
        kinds(check_maildrop(2, (2, 300), &[100])),
        ["wrong-count", "wrong-size"]
    );
    assert_eq!(
        kinds(check_maildrop(2, (2, 300), &[100, 201])),
        ["wrong-size"]
    );
    let p = check_maildrop(3, (2, 300), &[100, 200]);
    assert!(
        p[0].1.contains("STAT counts 2 messages, 3 were delivered"),
        "{p:?}"
    );
}

#[test]
fn a_retrieved_message_must_have_its_listed_size_and_come_from_this_run() {
    let mark = run_mark(0xabc);
    assert_eq!(mark, b"Message-ID: <abc-");
    let msg = corpus::with_unique_id(&corpus::message(1, 0), &corpus::delivery_tag(0xabc, 7));
    let size = msg.len() as u64;
    assert_eq!(check_message(&msg, size, &mark), None);
    assert_eq!(
        check_message(&msg, size + 1, &mark).unwrap().0,
        "wrong-size"
    );
    let other = corpus::with_unique_id(&corpus::message(1, 0), &corpus::delivery_tag(0xabd, 7));
    assert_eq!(
        check_message(&other, other.len() as u64, &mark).unwrap().0,
        "wrong-content"
    );
}

#[test]
fn every_corpus_delivery_carries_the_run_mark() {
    let mark = run_mark(42);
    let pool = corpus::Pool::new(7, 200);
    for i in 0..200 {
        let msg = corpus::with_unique_id(pool.get(i), &corpus::delivery_tag(42, i));
        assert_eq!(
            check_message(&msg, msg.len() as u64, &mark),
            None,
            "message {i}"
        );
    }
}

#[test]
fn refusals_are_counted_by_their_code() {
    let err = |code| Response {
        ok: false,
        code,
        text: String::new(),
    };
    assert_eq!(refusal_kind(&err(Some(RespCode::InUse))), "in-use");
    assert_eq!(
        refusal_kind(&err(Some(RespCode::LoginDelay))),
        "login-delay"
    );
    assert_eq!(refusal_kind(&err(Some(RespCode::SysTemp))), "sys-temp");
    assert_eq!(refusal_kind(&err(Some(RespCode::Auth))), "auth");
    assert_eq!(refusal_kind(&err(None)), "err");
}
