//! Automod scenarios: every trigger (positive and negative), exemptions, event-time windows,
//! escalation, regex safety and limits, rule tests, JSON shapes, and a property test of the
//! message-rate trigger against a naive recount.

#![allow(clippy::unwrap_used)]

use guildflow_dataflow::automod::{
    test_rule, ActionKind, AutomodAction, AutomodConfig, AutomodError, AutomodRule, AutomodState,
    CompiledAutomod, EscalationStep, LinkMode, Trigger,
};
use guildflow_model::{ChannelId, GuildId, MessageCreate, MessageId, RoleId, UserId};
use proptest::prelude::*;
use std::time::{Duration, Instant};

const GUILD: GuildId = GuildId(1);
const CHANNEL: ChannelId = ChannelId(10);
const ALICE: UserId = UserId(100);
const BOB: UserId = UserId(200);
const MOD_ROLE: RoleId = RoleId(7);

fn msg(id: u64, author: UserId, content: &str) -> MessageCreate {
    MessageCreate {
        guild: Some(GUILD),
        channel: CHANNEL,
        message: MessageId(id),
        author,
        author_bot: false,
        webhook: false,
        author_roles: Box::new([]),
        content: content.into(),
        mention_users: 0,
        mention_roles: 0,
        mention_everyone: false,
        attachments: 0,
        embeds: 0,
    }
}

fn rule(id: u64, trigger: Trigger, actions: Vec<ActionKind>) -> AutomodRule {
    AutomodRule {
        id,
        name: format!("rule {id}"),
        enabled: true,
        trigger,
        actions,
        exempt_roles: vec![],
        exempt_channels: vec![],
    }
}

fn compile(rules: Vec<AutomodRule>, escalation: Vec<EscalationStep>) -> CompiledAutomod {
    AutomodConfig { rules, escalation }.compile().unwrap()
}

fn one(trigger: Trigger) -> CompiledAutomod {
    compile(vec![rule(1, trigger, vec![ActionKind::Delete])], vec![])
}

/// Runs one message from ALICE through a fresh state.
fn fires(rules: &CompiledAutomod, content: &str) -> bool {
    !AutomodState::new()
        .on_message(rules, &msg(1, ALICE, content), 0)
        .is_empty()
}

fn kinds(actions: &[AutomodAction]) -> Vec<ActionKind> {
    actions.iter().map(|a| a.action.clone()).collect()
}

// ---------------------------------------------------------------- message rate

#[test]
fn message_rate_fires_above_the_limit_within_the_window() {
    let rules = one(Trigger::MessageRate {
        max_messages: 5,
        per_seconds: 5,
    });
    let mut state = AutomodState::new();
    for i in 0..5 {
        assert!(state
            .on_message(&rules, &msg(i, ALICE, "hi"), i as i64 * 500)
            .is_empty());
    }
    let actions = state.on_message(&rules, &msg(5, ALICE, "hi"), 2_500);
    assert_eq!(actions.len(), 1);
    let a = &actions[0];
    assert_eq!((a.guild, a.user, a.channel), (GUILD, ALICE, CHANNEL));
    assert_eq!(a.message, Some(MessageId(5)));
    assert_eq!(a.rule_id, Some(1));
    assert_eq!(a.rule_name, "rule 1");
    assert_eq!(a.action, ActionKind::Delete);
    assert_eq!(a.evidence.trigger, "message_rate");
    assert_eq!(a.evidence.detail, "6 messages in 5 s (limit 5)");
    assert_eq!(a.evidence.content_excerpt, "hi");
    // Another member is counted separately.
    assert!(state
        .on_message(&rules, &msg(6, BOB, "hi"), 2_600)
        .is_empty());
}

#[test]
fn message_rate_window_slides_in_event_time() {
    let rules = one(Trigger::MessageRate {
        max_messages: 2,
        per_seconds: 10,
    });
    let mut state = AutomodState::new();
    let at = |state: &mut AutomodState, id: u64, t: i64| {
        !state.on_message(&rules, &msg(id, ALICE, "x"), t).is_empty()
    };
    assert!(!at(&mut state, 1, 0));
    assert!(!at(&mut state, 2, 4_000));
    assert!(at(&mut state, 3, 9_999)); // 0, 4000, 9999
    assert!(at(&mut state, 4, 10_000)); // 4000, 9999, 10000 (0 left the window)
    assert!(!at(&mut state, 5, 19_999)); // 10000, 19999
                                         // Slow and steady is fine forever.
    for i in 0..50 {
        assert!(!at(&mut state, 100 + i, 30_000 + i as i64 * 5_000));
    }
}

#[test]
fn message_rate_burst_deletes_each_message_but_warns_once() {
    let rules = compile(
        vec![rule(
            1,
            Trigger::MessageRate {
                max_messages: 3,
                per_seconds: 10,
            },
            vec![ActionKind::Delete, ActionKind::Warn],
        )],
        vec![],
    );
    let mut state = AutomodState::new();
    let mut all = Vec::new();
    for i in 0..8 {
        all.extend(state.on_message(&rules, &msg(i, ALICE, "spam"), i as i64 * 100));
    }
    let deletes = all
        .iter()
        .filter(|a| a.action == ActionKind::Delete)
        .count();
    let warns = all.iter().filter(|a| a.action == ActionKind::Warn).count();
    assert_eq!(deletes, 5, "messages 4..=8 are over the limit of 3");
    assert_eq!(warns, 1, "one burst, one warning");
    // After the cooldown (one window), a new burst earns a new warning.
    let mut later = Vec::new();
    for i in 0..4 {
        later.extend(state.on_message(&rules, &msg(50 + i, ALICE, "spam"), 20_000 + i as i64));
    }
    assert_eq!(kinds(&later), vec![ActionKind::Delete, ActionKind::Warn]);
}

// ---------------------------------------------------------------- duplicates

#[test]
fn duplicate_content_is_normalized_and_windowed() {
    let rules = one(Trigger::DuplicateContent {
        max_repeats: 2,
        per_seconds: 30,
    });
    let mut state = AutomodState::new();
    let mut send = |id: u64, t: i64, text: &str| state.on_message(&rules, &msg(id, ALICE, text), t);
    assert!(send(1, 0, "Free NITRO here").is_empty());
    assert!(send(2, 1_000, "free   nitro here ").is_empty());
    assert!(send(3, 2_000, "something different").is_empty());
    let hit = send(4, 3_000, "  FREE nitro HERE");
    assert_eq!(hit.len(), 1);
    assert_eq!(hit[0].evidence.trigger, "duplicate_content");
    assert_eq!(hit[0].evidence.matched.as_deref(), Some("free nitro here"));
    // Different content is never a duplicate; 40 s later the window is clear.
    assert!(send(5, 4_000, "free nitro there").is_empty());
    assert!(send(6, 40_000, "free nitro here").is_empty());
    // Attachment-only (empty) messages are not compared.
    for i in 0..5 {
        assert!(send(10 + i, 50_000 + i as i64, "").is_empty());
    }
}

// ---------------------------------------------------------------- caps

#[test]
fn caps_ratio_and_minimum_length() {
    let rules = one(Trigger::Caps {
        min_letters: 6,
        max_ratio_percent: 70,
    });
    assert!(fires(&rules, "WHY IS EVERYONE SHOUTING"));
    assert!(!fires(&rules, "Why is everyone shouting"));
    assert!(!fires(&rules, "OK LOL")); // 5 letters < 6
    assert!(!fires(
        &rules,
        "GG <@123> <:KEKW:456> https://EXAMPLE.COM ok"
    )); // markup skipped
    assert!(!fires(&rules, "12345 !!! ????"));
    let ev = AutomodState::new().on_message(&rules, &msg(1, ALICE, "HELLO WORLd"), 0);
    assert_eq!(
        ev[0].evidence.detail,
        "90% uppercase of 10 letters (limit 70%)"
    );
}

// ---------------------------------------------------------------- links

#[test]
fn links_block_all_allow_list_and_deny_list() {
    let block = one(Trigger::Links {
        mode: LinkMode::BlockAll,
    });
    assert!(fires(&block, "check https://example.org/x"));
    assert!(fires(&block, "check example.com/path"));
    assert!(fires(&block, "www.some-site.fr"));
    assert!(!fires(&block, "see lib.rs and notes.md, e.g. v1.2"));
    assert!(!fires(&block, "write to admin@example.com"));
    assert!(!fires(&block, "no link at all"));

    let allow = one(Trigger::Links {
        mode: LinkMode::AllowList {
            domains: vec!["YouTube.com".into(), "discord.com".into()],
        },
    });
    assert!(!fires(
        &allow,
        "https://www.youtube.com/watch?v=x and m.YOUTUBE.com"
    ));
    assert!(!fires(&allow, "https://discord.com/channels/1/2"));
    assert!(fires(&allow, "https://youtube.com.scam.ru/login"));
    assert!(fires(&allow, "ok youtube.com but also evil.xyz"));

    let deny = one(Trigger::Links {
        mode: LinkMode::DenyList {
            domains: vec!["grabify.link".into(), "evil.zip".into()],
        },
    });
    let actions =
        AutomodState::new().on_message(&deny, &msg(1, ALICE, "lol HTTPS://X.Grabify.Link/abc"), 0);
    assert_eq!(
        actions[0].evidence.matched.as_deref(),
        Some("HTTPS://X.Grabify.Link/abc")
    );
    assert_eq!(
        actions[0].evidence.detail,
        "link to x.grabify.link (domain is in the deny list)"
    );
    assert!(fires(&deny, "download.evil.zip"));
    assert!(!fires(&deny, "https://example.com grabify"));
}

// ---------------------------------------------------------------- invites

#[test]
fn invites_with_allowed_codes() {
    let rules = one(Trigger::Invites {
        allowed_codes: vec!["our-server".into()],
    });
    assert!(fires(&rules, "join discord.gg/abcdef!"));
    assert!(fires(&rules, "https://discord.com/invite/XyZ"));
    assert!(fires(&rules, "discordapp.com/invite/old"));
    assert!(!fires(&rules, "join discord.gg/Our-Server"));
    assert!(!fires(&rules, "https://discord.com/channels/1/2"));
    assert!(!fires(&rules, "I love discord"));
}

// ---------------------------------------------------------------- banned words

#[test]
fn banned_words_whole_words_and_wildcards() {
    let rules = one(Trigger::BannedWords {
        words: vec![
            "darn".into(),
            "heck*".into(),
            "*scam".into(),
            "free nitro".into(),
        ],
    });
    assert!(fires(&rules, "Well DARN it"));
    assert!(!fires(&rules, "darning socks"));
    assert!(fires(&rules, "what the heckin"));
    assert!(!fires(&rules, "checked"));
    assert!(fires(&rules, "a total nitroscam"));
    assert!(!fires(&rules, "scammer"));
    assert!(fires(&rules, "FREE... Nitro?"));
    assert!(!fires(&rules, "nitro is not free"));
    let ev = AutomodState::new().on_message(&rules, &msg(1, ALICE, "oh HECKIN no"), 0);
    assert_eq!(ev[0].evidence.matched.as_deref(), Some("heckin"));
    assert_eq!(ev[0].evidence.trigger, "banned_words");
}

// ---------------------------------------------------------------- regex

#[test]
fn regex_patterns_match_raw_content() {
    let rules = one(Trigger::Regex {
        patterns: vec![r"(?i)steam\s*community\.(ru|xyz)".into(), r"\d{16}".into()],
    });
    assert!(fires(&rules, "gift at SteamCommunity.ru"));
    assert!(fires(&rules, "card 1234567812345678"));
    assert!(!fires(&rules, "steamcommunity.com is fine"));
}

#[test]
fn pathological_regex_is_linear() {
    let rules = one(Trigger::Regex {
        patterns: vec!["(a+)+$".into(), "(x+x+)+y".into()],
    });
    let mut state = AutomodState::new();
    let matching = "a".repeat(100_000);
    let failing = format!("{}!", "a".repeat(100_000));
    let xs = "x".repeat(100_000);
    let start = Instant::now();
    assert_eq!(
        state.on_message(&rules, &msg(1, ALICE, &matching), 0).len(),
        1
    );
    let hit = state.on_message(&rules, &msg(2, ALICE, &failing), 0);
    assert!(hit.is_empty());
    assert!(state.on_message(&rules, &msg(3, ALICE, &xs), 0).is_empty());
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn oversized_or_invalid_regexes_are_rejected_at_compile() {
    let config = |patterns: Vec<String>| AutomodConfig {
        rules: vec![rule(
            9,
            Trigger::Regex { patterns },
            vec![ActionKind::Delete],
        )],
        escalation: vec![],
    };
    let err = config(vec![r"\w{1000}".into()]).compile().unwrap_err();
    assert!(
        matches!(err, AutomodError::RegexTooLarge { rule: 9, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("too large"), "{err}");
    let err = config(vec!["(?:a{1000}){1000}".into()])
        .compile()
        .unwrap_err();
    assert!(matches!(err, AutomodError::RegexTooLarge { .. }), "{err}");

    let err = config(vec!["[unclosed".into()]).validate().unwrap_err();
    match &err {
        AutomodError::InvalidRegex {
            rule,
            index,
            message,
        } => {
            assert_eq!((*rule, *index), (9, 0));
            assert!(message.contains("unclosed character class"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err
        .to_string()
        .starts_with("rule 9: regex pattern 0 is invalid:"));

    let err = config(vec!["a".repeat(1001)]).compile().unwrap_err();
    assert!(matches!(
        err,
        AutomodError::PatternTooLong {
            chars: 1001,
            max: 1000,
            ..
        }
    ));
    let err = config(vec!["a".into(); 11]).compile().unwrap_err();
    assert!(matches!(
        err,
        AutomodError::TooManyPatterns {
            count: 11,
            max: 10,
            ..
        }
    ));

    // Unicode classes are large once compiled; repetition multiplies them.
    let err = config(vec![r"\w{30,}".into()]).compile().unwrap_err();
    assert!(matches!(err, AutomodError::RegexTooLarge { .. }), "{err}");

    // Many rules cannot add up past the configuration-wide total.
    let many = AutomodConfig {
        rules: (0..3)
            .map(|i| {
                rule(
                    i,
                    Trigger::Regex {
                        patterns: vec!["x".into(); 10],
                    },
                    vec![ActionKind::Delete],
                )
            })
            .collect(),
        escalation: vec![],
    };
    assert_eq!(
        many.validate().unwrap_err().to_string(),
        "too many regex patterns in the configuration: 30 (at most 20 across all rules)"
    );

    // Realistic patterns fit comfortably.
    config(vec![
        r"(?i)\b(free|cheap)\s+(nitro|robux)\b".into(),
        r"\p{L}{10,}".into(),
        r"\w{20}".into(),
        r"(?-u:\w){30,}".into(),
        r"(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}".into(),
        "a".repeat(1000),
    ])
    .compile()
    .unwrap();
}

// ---------------------------------------------------------------- mention spam

#[test]
fn mention_spam_counts_unique_users_roles_and_everyone() {
    let rules = one(Trigger::MentionSpam { max_mentions: 5 });
    let mut m = msg(1, ALICE, "hey all");
    m.mention_users = 4;
    m.mention_roles = 1;
    assert!(AutomodState::new().on_message(&rules, &m, 0).is_empty());
    m.mention_everyone = true;
    let actions = AutomodState::new().on_message(&rules, &m, 0);
    assert_eq!(
        actions[0].evidence.detail,
        "6 mentions (4 users, 1 roles, @everyone) (limit 5)"
    );
}

// ---------------------------------------------------------------- exemptions, filters

#[test]
fn exempt_roles_and_channels_skip_the_rule() {
    let mut r = rule(
        1,
        Trigger::BannedWords {
            words: vec!["darn".into()],
        },
        vec![ActionKind::Delete],
    );
    r.exempt_roles = vec![MOD_ROLE];
    r.exempt_channels = vec![ChannelId(99)];
    let other = rule(
        2,
        Trigger::Caps {
            min_letters: 4,
            max_ratio_percent: 50,
        },
        vec![ActionKind::Delete],
    );
    let rules = compile(vec![r, other], vec![]);
    let mut state = AutomodState::new();

    let mut by_mod = msg(1, ALICE, "DARN IT");
    by_mod.author_roles = vec![RoleId(3), MOD_ROLE].into();
    let actions = state.on_message(&rules, &by_mod, 0);
    assert_eq!(
        actions.iter().map(|a| a.rule_id).collect::<Vec<_>>(),
        vec![Some(2)]
    );

    let mut in_exempt_channel = msg(2, ALICE, "darn");
    in_exempt_channel.channel = ChannelId(99);
    assert!(state.on_message(&rules, &in_exempt_channel, 0).is_empty());

    assert_eq!(state.on_message(&rules, &msg(3, ALICE, "darn"), 0).len(), 1);
}

#[test]
fn exempt_members_do_not_count_towards_rates() {
    let mut r = rule(
        1,
        Trigger::MessageRate {
            max_messages: 2,
            per_seconds: 60,
        },
        vec![ActionKind::Delete],
    );
    r.exempt_channels = vec![ChannelId(99)];
    let rules = compile(vec![r], vec![]);
    let mut state = AutomodState::new();
    for i in 0..10 {
        let mut m = msg(i, ALICE, "bot-spam channel");
        m.channel = ChannelId(99);
        assert!(state.on_message(&rules, &m, i as i64).is_empty());
    }
    assert!(state
        .on_message(&rules, &msg(20, ALICE, "a"), 100)
        .is_empty());
    assert!(state
        .on_message(&rules, &msg(21, ALICE, "b"), 101)
        .is_empty());
    assert_eq!(state.on_message(&rules, &msg(22, ALICE, "c"), 102).len(), 1);
}

#[test]
fn bots_webhooks_dms_and_disabled_rules_are_never_evaluated() {
    let mut disabled = rule(
        2,
        Trigger::BannedWords {
            words: vec!["hello".into()],
        },
        vec![ActionKind::Ban],
    );
    disabled.enabled = false;
    let rules = compile(
        vec![
            rule(
                1,
                Trigger::MentionSpam { max_mentions: 0 },
                vec![ActionKind::Delete],
            ),
            disabled,
        ],
        vec![],
    );
    assert_eq!(rules.rule_count(), 1);
    let mut state = AutomodState::new();
    let mut m = msg(1, ALICE, "hello <@2>");
    m.mention_users = 1;
    let mut bot = m.clone();
    bot.author_bot = true;
    let mut hook = m.clone();
    hook.webhook = true;
    let mut dm = m.clone();
    dm.guild = None;
    for skipped in [&bot, &hook, &dm] {
        assert!(state.on_message(&rules, skipped, 0).is_empty());
    }
    assert_eq!(
        kinds(&state.on_message(&rules, &m, 0)),
        vec![ActionKind::Delete]
    );
}

// ---------------------------------------------------------------- escalation

fn warn_on_banned_word() -> Vec<AutomodRule> {
    vec![rule(
        1,
        Trigger::BannedWords {
            words: vec!["darn".into()],
        },
        vec![ActionKind::Delete, ActionKind::Warn],
    )]
}

#[test]
fn three_warnings_in_ten_minutes_time_out() {
    let rules = compile(
        warn_on_banned_word(),
        vec![EscalationStep {
            warnings: 3,
            within_seconds: 600,
            action: ActionKind::Timeout { seconds: 3_600 },
        }],
    );
    let mut state = AutomodState::new();
    let minute = 60_000;
    assert_eq!(
        kinds(&state.on_message(&rules, &msg(1, ALICE, "darn"), 0)),
        vec![ActionKind::Delete, ActionKind::Warn]
    );
    state.on_message(&rules, &msg(2, ALICE, "darn"), 4 * minute);
    let third = state.on_message(&rules, &msg(3, ALICE, "darn it"), 9 * minute);
    assert_eq!(
        kinds(&third),
        vec![
            ActionKind::Delete,
            ActionKind::Warn,
            ActionKind::Timeout { seconds: 3_600 }
        ]
    );
    let esc = &third[2];
    assert_eq!(esc.rule_id, None);
    assert_eq!(esc.rule_name, "escalation");
    assert_eq!(esc.message, Some(MessageId(3)));
    assert_eq!(esc.evidence.trigger, "escalation");
    assert_eq!(
        esc.evidence.detail,
        "3 warnings within 600 s (step: 3 warnings -> timeout)"
    );
    assert_eq!(esc.evidence.content_excerpt, "darn it");

    // Three warnings spread over more than 10 minutes do not escalate.
    let mut state = AutomodState::new();
    for (i, t) in [0, 6, 12].into_iter().enumerate() {
        let actions = state.on_message(&rules, &msg(i as u64, BOB, "darn"), t * minute);
        assert_eq!(actions.len(), 2, "at minute {t}");
    }
}

#[test]
fn manual_warnings_share_the_escalation() {
    let rules = compile(
        warn_on_banned_word(),
        vec![
            EscalationStep {
                warnings: 3,
                within_seconds: 600,
                action: ActionKind::Timeout { seconds: 600 },
            },
            EscalationStep {
                warnings: 4,
                within_seconds: 3_600,
                action: ActionKind::Kick,
            },
        ],
    );
    let mut state = AutomodState::new();
    assert!(state
        .add_warning(&rules, GUILD, ALICE, CHANNEL, 0)
        .is_empty());
    assert!(state
        .add_warning(&rules, GUILD, ALICE, CHANNEL, 1_000)
        .is_empty());
    let third = state.on_message(&rules, &msg(1, ALICE, "darn"), 2_000);
    assert_eq!(
        third.last().unwrap().action,
        ActionKind::Timeout { seconds: 600 }
    );
    let fourth = state.add_warning(&rules, GUILD, ALICE, ChannelId(5), 3_000);
    assert_eq!(kinds(&fourth), vec![ActionKind::Kick]);
    assert_eq!(fourth[0].message, None);
    assert_eq!(fourth[0].channel, ChannelId(5));
    assert_eq!(fourth[0].evidence.content_excerpt, "");
    // Another member is unaffected.
    assert!(state
        .add_warning(&rules, GUILD, BOB, CHANNEL, 3_000)
        .is_empty());
}

// ---------------------------------------------------------------- state bounds

#[test]
fn prune_forgets_members_outside_every_window() {
    let rules = compile(
        vec![
            rule(
                1,
                Trigger::MessageRate {
                    max_messages: 5,
                    per_seconds: 5,
                },
                vec![ActionKind::Delete, ActionKind::Warn],
            ),
            rule(
                2,
                Trigger::DuplicateContent {
                    max_repeats: 3,
                    per_seconds: 30,
                },
                vec![ActionKind::Delete],
            ),
        ],
        vec![EscalationStep {
            warnings: 3,
            within_seconds: 600,
            action: ActionKind::Kick,
        }],
    );
    assert_eq!(rules.horizon_ms(), 600_000);
    let mut state = AutomodState::new();
    for user in 0..1_000u64 {
        for i in 0..10 {
            state.on_message(
                &rules,
                &msg(user * 100 + i, UserId(user), "hey"),
                i as i64 * 10,
            );
        }
    }
    assert_eq!(state.tracked_members(), 1_000);
    state.prune(60_000); // message windows over, warnings still count
    assert_eq!(state.tracked_members(), 1_000);
    state.prune(600_100);
    assert_eq!(state.tracked_members(), 0);

    // Stateless rules never create entries.
    let stateless = one(Trigger::Caps {
        min_letters: 1,
        max_ratio_percent: 0,
    });
    for user in 0..100 {
        state.on_message(&stateless, &msg(user, UserId(user), "A"), 0);
    }
    assert_eq!(state.tracked_members(), 0);
}

#[test]
fn same_input_same_output() {
    let rules = compile(
        vec![
            rule(
                1,
                Trigger::MessageRate {
                    max_messages: 3,
                    per_seconds: 5,
                },
                vec![ActionKind::Delete, ActionKind::Warn],
            ),
            rule(
                2,
                Trigger::DuplicateContent {
                    max_repeats: 1,
                    per_seconds: 60,
                },
                vec![ActionKind::Delete, ActionKind::Warn],
            ),
        ],
        vec![EscalationStep {
            warnings: 2,
            within_seconds: 60,
            action: ActionKind::Timeout { seconds: 60 },
        }],
    );
    let run = || {
        let mut state = AutomodState::new();
        (0..300u64)
            .flat_map(|i| {
                let m = msg(i, UserId(i % 7), if i % 3 == 0 { "same" } else { "other" });
                state.on_message(&rules, &m, (i * 373 % 1000 + i * 200) as i64)
            })
            .collect::<Vec<_>>()
    };
    let first = run();
    assert!(!first.is_empty());
    assert_eq!(first, run());
}

// ---------------------------------------------------------------- validation

#[test]
fn configuration_errors_are_clear() {
    let bad = |trigger: Trigger| {
        AutomodConfig {
            rules: vec![rule(4, trigger, vec![ActionKind::Delete])],
            escalation: vec![],
        }
        .validate()
        .unwrap_err()
        .to_string()
    };
    assert_eq!(
        bad(Trigger::MessageRate {
            max_messages: 5,
            per_seconds: 0
        }),
        "rule 4: per_seconds must be at least 1 second"
    );
    assert_eq!(
        bad(Trigger::Caps {
            min_letters: 6,
            max_ratio_percent: 150
        }),
        "rule 4: max_ratio_percent is 150, it must be between 0 and 100"
    );
    assert_eq!(
        bad(Trigger::BannedWords { words: vec![] }),
        "rule 4: the banned word list is empty"
    );
    assert_eq!(
        bad(Trigger::BannedWords {
            words: vec!["b*d".into()]
        }),
        "rule 4: banned word \"b*d\": `*` is only allowed at the start or the end of an entry"
    );

    let dup = AutomodConfig {
        rules: vec![
            rule(
                1,
                Trigger::MentionSpam { max_mentions: 1 },
                vec![ActionKind::Delete],
            ),
            rule(
                1,
                Trigger::MentionSpam { max_mentions: 2 },
                vec![ActionKind::Delete],
            ),
        ],
        escalation: vec![],
    };
    assert_eq!(
        dup.validate().unwrap_err(),
        AutomodError::DuplicateRuleId { id: 1 }
    );

    // A disabled rule is still validated.
    let mut off = rule(
        3,
        Trigger::Regex {
            patterns: vec!["(".into()],
        },
        vec![ActionKind::Delete],
    );
    off.enabled = false;
    assert!(AutomodConfig {
        rules: vec![off],
        escalation: vec![]
    }
    .validate()
    .is_err());

    let esc = AutomodConfig {
        rules: vec![],
        escalation: vec![EscalationStep {
            warnings: 3,
            within_seconds: 0,
            action: ActionKind::Kick,
        }],
    };
    assert_eq!(
        esc.validate().unwrap_err().to_string(),
        "escalation step 0: within_seconds must be at least 1 second"
    );
}

#[test]
fn presets_exist_and_work() {
    for name in ["anti-spam", "anti-caps", "anti-links", "anti-mention-spam"] {
        let rule = AutomodConfig::preset(name).unwrap();
        assert_eq!(rule.id, 0);
        AutomodConfig {
            rules: vec![rule],
            escalation: vec![],
        }
        .validate()
        .unwrap();
    }
    assert!(AutomodConfig::preset("nope").is_none());
    let links = compile(vec![AutomodConfig::preset("anti-links").unwrap()], vec![]);
    assert!(fires(&links, "visit example.com"));
}

// ---------------------------------------------------------------- JSON

#[test]
fn configuration_json_round_trips() {
    let json = r#"{
      "rules": [
        {"id": 1, "name": "No spam", "trigger": {"type": "message_rate", "max_messages": 5, "per_seconds": 5},
         "actions": [{"type": "delete"}, {"type": "warn"}], "exempt_roles": ["7"], "exempt_channels": ["10"]},
        {"id": 2, "name": "Shouting", "trigger": {"type": "caps", "max_ratio_percent": 70},
         "actions": [{"type": "delete"}]},
        {"id": 3, "name": "Links", "enabled": false,
         "trigger": {"type": "links", "mode": {"type": "allow_list", "domains": ["youtube.com"]}},
         "actions": [{"type": "timeout", "seconds": 60}]}
      ],
      "escalation": [{"warnings": 3, "within_seconds": 600, "action": {"type": "timeout", "seconds": 3600}}]
    }"#;
    let config: AutomodConfig = serde_json::from_str(json).unwrap();
    config.validate().unwrap();
    assert_eq!(config.rules[0].exempt_roles, vec![RoleId(7)]);
    assert_eq!(
        config.rules[1].trigger,
        Trigger::Caps {
            min_letters: 6,
            max_ratio_percent: 70
        }
    );
    assert!(config.rules[0].enabled);
    assert!(!config.rules[2].enabled);
    let back: AutomodConfig =
        serde_json::from_str(&serde_json::to_string(&config).unwrap()).unwrap();
    assert_eq!(back, config);
    let value = serde_json::to_value(&config.rules[2].trigger).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"type": "links", "mode": {"type": "allow_list", "domains": ["youtube.com"]}})
    );

    // Typos are errors, not silent defaults.
    let typo = r#"{"type": "message_rate", "max_message": 5, "per_seconds": 5}"#;
    assert!(serde_json::from_str::<Trigger>(typo).is_err());

    // Actions serialize for the log.
    let rules = config.compile().unwrap();
    let actions = AutomodState::new().on_message(&rules, &msg(1, ALICE, "AAAAAAAAAAAA"), 5);
    let logged = serde_json::to_value(&actions[0]).unwrap();
    assert_eq!(logged["user"], "100");
    assert_eq!(logged["rule_id"], 2);
    assert_eq!(logged["action"], serde_json::json!({"type": "delete"}));
    assert_eq!(logged["evidence"]["trigger"], "caps");
}

// ---------------------------------------------------------------- rule tester

#[test]
fn test_rule_evaluates_samples() {
    let words = rule(
        1,
        Trigger::BannedWords {
            words: vec!["darn".into()],
        },
        vec![ActionKind::Delete],
    );
    let samples: Vec<String> = vec!["fine".into(), "DARN".into(), "darning".into()];
    let out = test_rule(&words, &samples).unwrap();
    assert_eq!(
        out.iter().map(Option::is_some).collect::<Vec<_>>(),
        vec![false, true, false]
    );
    assert_eq!(out[1].as_ref().unwrap().matched.as_deref(), Some("darn"));

    // Stateful: samples are one member's messages, 1 s apart.
    let dup = rule(
        2,
        Trigger::DuplicateContent {
            max_repeats: 1,
            per_seconds: 10,
        },
        vec![ActionKind::Delete],
    );
    let samples: Vec<String> = vec!["a".into(), "b".into(), "A ".into(), "a".into()];
    let out = test_rule(&dup, &samples).unwrap();
    assert_eq!(
        out.iter().map(Option::is_some).collect::<Vec<_>>(),
        vec![false, false, true, true]
    );
    let rate = rule(
        3,
        Trigger::MessageRate {
            max_messages: 2,
            per_seconds: 3,
        },
        vec![ActionKind::Delete],
    );
    let out = test_rule(&rate, &vec!["x".to_owned(); 4]).unwrap();
    assert_eq!(
        out.iter().map(Option::is_some).collect::<Vec<_>>(),
        vec![false, false, true, true]
    );

    // Mentions are read from the text.
    let mentions = rule(
        4,
        Trigger::MentionSpam { max_mentions: 2 },
        vec![ActionKind::Delete],
    );
    let out = test_rule(
        &mentions,
        &["<@1> <@!1> <@&2> @everyone".to_owned(), "<@1>".to_owned()],
    )
    .unwrap();
    assert!(out[0].is_some() && out[1].is_none());

    // Errors: invalid trigger, too many samples.
    let bad = rule(
        5,
        Trigger::Regex {
            patterns: vec!["(".into()],
        },
        vec![],
    );
    assert!(matches!(
        test_rule(&bad, &[]),
        Err(AutomodError::InvalidRegex { .. })
    ));
    assert!(matches!(
        test_rule(&words, &vec![String::new(); 101]),
        Err(AutomodError::InvalidTest { .. })
    ));
}

// ---------------------------------------------------------------- property

fn naive_rate_hits(times: &[(u64, i64)], max: u32, per_seconds: u32) -> Vec<bool> {
    let window = i64::from(per_seconds) * 1000;
    times
        .iter()
        .enumerate()
        .map(|(i, &(user, at))| {
            let count = times[..=i]
                .iter()
                .filter(|&&(u, t)| u == user && t > at - window && t <= at)
                .count();
            count > max as usize
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn message_rate_agrees_with_a_naive_recount(
        max in 1u32..6,
        per_seconds in 1u32..6,
        steps in proptest::collection::vec((0u64..3, 0i64..2_500), 1..120),
        prune_every in 1usize..40,
    ) {
        let rules = compile(
            vec![rule(
                1,
                Trigger::MessageRate { max_messages: max, per_seconds },
                vec![ActionKind::Delete],
            )],
            vec![],
        );
        let mut at = 1_700_000_000_000i64;
        let times: Vec<(u64, i64)> = steps
            .iter()
            .map(|&(user, delta)| {
                at += delta;
                (user, at)
            })
            .collect();
        let expected = naive_rate_hits(&times, max, per_seconds);
        let mut state = AutomodState::new();
        for (i, &(user, t)) in times.iter().enumerate() {
            let actions = state.on_message(&rules, &msg(i as u64, UserId(user), "m"), t);
            prop_assert_eq!(!actions.is_empty(), expected[i], "message {} at {}", i, t);
            if i % prune_every == 0 {
                state.prune(t);
            }
        }
    }
}
