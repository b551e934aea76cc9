use super::*;

type Body = fn(&mut Module) -> Result<Map<String, Value>, Failure>;

/// Echoes the validated parameters and the internal flags.
fn echo(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    Ok(Map::from_iter([
        ("params".to_string(), Value::Object(m.params.0.clone())),
        (
            "flags".to_string(),
            json!([m.check_mode, m.diff, m.no_log, m.verbosity]),
        ),
    ]))
}

fn exec_with(spec: &Spec, args: &str, env: &[(&str, &str)], body: Body) -> (Value, i32) {
    let lookup = |k: &str| {
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    execute("m", spec, args, &lookup, body)
}

fn exec(spec: &Spec, args: Value) -> (Value, i32) {
    exec_with(spec, &args.to_string(), &[], echo)
}

fn params(spec: &Spec, args: Value) -> Value {
    let (v, code) = exec(spec, args);
    assert_eq!(code, 0, "{v}");
    v["params"].clone()
}

fn error(spec: &Spec, args: Value) -> String {
    let (v, code) = exec(spec, args);
    assert_eq!(
        (code, &v["failed"], &v["changed"]),
        (1, &json!(true), &json!(false)),
        "{v}"
    );
    v["msg"].as_str().unwrap().to_string()
}

/// The coerced value of a single option `v`, or the error message.
fn one(opt: Opt, value: Value) -> Result<Value, String> {
    let spec = Spec::new([opt]);
    let (v, code) = exec(&spec, json!({ "v": value }));
    match code {
        0 => Ok(v["params"]["v"].clone()),
        _ => Err(v["msg"].as_str().unwrap().to_string()),
    }
}

#[test]
fn str_coercion() {
    let s = |v: Value| one(Opt::str("v"), v).unwrap();
    assert_eq!(s(json!("x")), json!("x"));
    assert_eq!(s(json!(5)), json!("5"));
    assert_eq!(s(json!(-5)), json!("-5"));
    assert_eq!(s(json!(1.5)), json!("1.5"));
    assert_eq!(s(json!(2.0)), json!("2.0"));
    assert_eq!(s(json!(1e20)), json!("1e+20"));
    assert_eq!(s(json!(0.00001)), json!("1e-05"));
    assert_eq!(s(json!(true)), json!("True"));
    assert_eq!(s(json!(false)), json!("False"));
    assert_eq!(s(json!([1, "a", null])), json!("[1, 'a', None]"));
    assert_eq!(
        one(Opt::list("v"), json!(["a", null])),
        Ok(json!(["a", ""]))
    );
    assert_eq!(s(json!({"a": "it's"})), json!("{'a': \"it's\"}"));
    assert_eq!(s(json!(["a\nb\\"])), json!("['a\\nb\\\\']"));
}

#[test]
fn bool_coercion() {
    let b = |v: Value| one(Opt::bool("v"), v);
    for t in [
        "yes", "Yes", "YES", "on", "On", "y", "Y", "t", "T", "true", "True", "1", " yes ",
    ] {
        assert_eq!(b(json!(t)), Ok(json!(true)), "{t}");
    }
    for f in [
        "no", "NO", "off", "OFF", "n", "N", "f", "F", "false", "False", "0",
    ] {
        assert_eq!(b(json!(f)), Ok(json!(false)), "{f}");
    }
    assert_eq!(b(json!(true)), Ok(json!(true)));
    assert_eq!(b(json!(false)), Ok(json!(false)));
    assert_eq!(b(json!(1)), Ok(json!(true)));
    assert_eq!(b(json!(0)), Ok(json!(false)));
    assert_eq!(b(json!(1.0)), Ok(json!(true)));
    assert_eq!(
        b(json!("maybe")).unwrap_err(),
        "argument 'v' is of type str and we were unable to convert to bool: The value 'maybe' is not a valid \
         boolean. Valid booleans include: 'y', 'yes', 'on', '1', 'true', 't', 1, 'n', 'no', 'off', '0', 'false', 'f', 0"
    );
    assert!(b(json!(2))
        .unwrap_err()
        .contains("is of type int and we were unable to convert to bool: The value '2'"));
    assert!(b(json!("")).is_err());
    assert!(b(json!([true]))
        .unwrap_err()
        .ends_with("convert to bool: <class 'list'> cannot be converted to a bool"));
    assert!(b(json!({}))
        .unwrap_err()
        .ends_with("<class 'dict'> cannot be converted to a bool"));
}

#[test]
fn int_coercion() {
    let i = |v: Value| one(Opt::int("v"), v);
    assert_eq!(i(json!(5)), Ok(json!(5)));
    assert_eq!(i(json!(-5)), Ok(json!(-5)));
    assert_eq!(i(json!("42")), Ok(json!(42)));
    assert_eq!(i(json!(" 42 ")), Ok(json!(42)));
    assert_eq!(i(json!("+7")), Ok(json!(7)));
    assert_eq!(i(json!("-3")), Ok(json!(-3)));
    assert_eq!(i(json!(3.0)), Ok(json!(3)));
    assert_eq!(i(json!("3.0")), Ok(json!(3)));
    assert_eq!(i(json!("1e3")), Ok(json!(1000)));
    assert_eq!(
        i(json!("9007199254740993")),
        Ok(json!(9007199254740993_i64))
    );
    assert_eq!(
        i(json!("abc")).unwrap_err(),
        "argument 'v' is of type str and we were unable to convert to int: \"'abc'\" cannot be converted to an int"
    );
    assert_eq!(
        i(json!(1.5)).unwrap_err(),
        "argument 'v' is of type float and we were unable to convert to int: \"1.5\" cannot be converted to an int"
    );
    for bad in [
        json!("1.5"),
        json!(true),
        json!([1]),
        json!({}),
        json!("inf"),
        json!("nan"),
        json!(""),
        json!("0x10"),
    ] {
        assert!(i(bad.clone()).is_err(), "{bad}");
    }
}

#[test]
fn float_coercion() {
    let f = |v: Value| one(Opt::new("v", Kind::Float), v);
    assert_eq!(f(json!(1.5)), Ok(json!(1.5)));
    assert_eq!(f(json!("2.5")), Ok(json!(2.5)));
    assert_eq!(f(json!(" 1e2 ")), Ok(json!(100.0)));
    assert_eq!(f(json!(3)), Ok(json!(3.0)));
    assert_eq!(
        f(json!("x")).unwrap_err(),
        "argument 'v' is of type str and we were unable to convert to float: <class 'str'> cannot be converted to a float"
    );
    for bad in [json!(true), json!([1.0]), json!("inf"), json!("NaN")] {
        assert!(f(bad.clone()).is_err(), "{bad}");
    }
}

#[test]
fn list_coercion() {
    let l = |v: Value| one(Opt::list("v"), v);
    assert_eq!(l(json!(["a", "b"])), Ok(json!(["a", "b"])));
    assert_eq!(l(json!("a,b")), Ok(json!(["a", "b"])));
    assert_eq!(l(json!("a, b")), Ok(json!(["a", " b"])));
    assert_eq!(l(json!("a")), Ok(json!(["a"])));
    assert_eq!(l(json!("")), Ok(json!([])));
    assert_eq!(l(json!([])), Ok(json!([])));
    assert_eq!(l(json!(5)), Ok(json!(["5"])));
    assert_eq!(l(json!(1.5)), Ok(json!(["1.5"])));
    assert_eq!(l(json!([1, true, "x"])), Ok(json!(["1", "True", "x"])));
    assert_eq!(
        l(json!({"a": 1})).unwrap_err(),
        "argument 'v' is of type dict and we were unable to convert to list: <class 'dict'> cannot be converted to a list"
    );
    let ints = |v: Value| one(Opt::list("v").elements(Kind::Int), v);
    assert_eq!(ints(json!("1,2")), Ok(json!([1, 2])));
    assert_eq!(ints(json!([3, "4"])), Ok(json!([3, 4])));
    assert_eq!(
        ints(json!([1, "x"])).unwrap_err(),
        "Elements value for option 'v' is of type str and we were unable to convert to int: \"'x'\" cannot be converted to an int"
    );
    let raw = |v: Value| one(Opt::new("v", Kind::List), v);
    assert_eq!(raw(json!([1, {"a": null}])), Ok(json!([1, {"a": null}])));
}

#[test]
fn dict_coercion() {
    let d = |v: Value| one(Opt::dict("v"), v);
    assert_eq!(d(json!({"a": [1]})), Ok(json!({"a": [1]})));
    assert_eq!(d(json!("{\"a\": 1}")), Ok(json!({"a": 1})));
    assert_eq!(d(json!("a=1, b='x y'")), Ok(json!({"a": "1", "b": "x y"})));
    assert_eq!(d(json!("a=1 b=2=3")), Ok(json!({"a": "1", "b": "2=3"})));
    assert_eq!(
        d(json!("a=x\\,y,c=\"q\"")),
        Ok(json!({"a": "x,y", "c": "q"}))
    );
    let bad = |v: Value, e: &str| {
        assert_eq!(
            d(v.clone()).unwrap_err(),
            format!(
                "argument 'v' is of type {} and we were unable to convert to dict: {e}",
                validate_type(&v)
            )
        )
    };
    bad(json!("{nope"), "unable to evaluate string as dictionary");
    bad(json!("{}x"), "unable to evaluate string as dictionary");
    bad(
        json!("abc"),
        "dictionary requested, could not parse JSON or key=value",
    );
    bad(
        json!("a=1,b"),
        "unable to evaluate string in the \"key=value\" format as dictionary",
    );
    bad(json!([1]), "<class 'list'> cannot be converted to a dict");
    bad(json!(7), "<class 'int'> cannot be converted to a dict");
}

fn validate_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "str",
        Value::Array(_) => "list",
        _ => "int",
    }
}

#[test]
fn path_coercion() {
    let spec = Spec::new([Opt::path("v")]);
    let env = [("HOME", "/home/u/"), ("FOO", "/opt"), ("E", "")];
    let p = |v: &str| {
        let (r, code) = exec_with(&spec, &json!({ "v": v }).to_string(), &env, echo);
        assert_eq!(code, 0);
        r["params"]["v"].as_str().unwrap().to_string()
    };
    assert_eq!(p("~/x"), "/home/u/x");
    assert_eq!(p("~"), "/home/u");
    assert_eq!(p("$FOO/bar"), "/opt/bar");
    assert_eq!(p("${FOO}x/$FOO"), "/optx//opt");
    assert_eq!(p("$NOPE/x${NOPE}$"), "$NOPE/x${NOPE}$");
    assert_eq!(p("a$E.b ${"), "a.b ${");
    assert_eq!(p("~other/x"), "~other/x");
    assert_eq!(p("/a/~"), "/a/~");
    let (r, _) = exec_with(&spec, r#"{"v": "~"}"#, &[("HOME", "/")], echo);
    assert_eq!(r["params"]["v"], "/");
    let (r, _) = exec_with(&spec, r#"{"v": "~/x"}"#, &[], echo);
    assert_eq!(r["params"]["v"], "~/x");
    assert_eq!(one(Opt::path("v"), json!(12)), Ok(json!("12")));
}

#[test]
fn raw_is_unchanged() {
    for v in [
        json!(1),
        json!("x"),
        json!([1, "a"]),
        json!({"k": {"n": true}}),
        json!(false),
    ] {
        assert_eq!(one(Opt::new("v", Kind::Raw), v.clone()), Ok(v));
    }
}

#[test]
fn a_value_converted_to_a_string_is_warned_about() {
    let warnings = |args: Value| exec(&user_spec(), args).0["warnings"].clone();
    assert_eq!(
        warnings(json!({"userid": "a@pve", "comment": ["a", "b"]})),
        json!([
            "The value ['a', 'b'] (type list) in a string field (comment) was converted to \
                \"['a', 'b']\" (type string). If this does not look like what you expect, \
                quote the entire value to ensure it does not change."
        ])
    );
    assert!(warnings(json!({"userid": "a@pve", "comment": true}))[0]
        .as_str()
        .unwrap()
        .starts_with(
            "The value True (type bool) in a string field (comment) was converted to 'True'"
        ));
    // Strings, numbers (epoch seconds of `expire`) and options left out or
    // null are not worth a warning.
    assert_eq!(
        warnings(json!({"userid": "a@pve", "comment": 7, "api_host": null})),
        Value::Null
    );
    // A secret's value is never shown, also not in a warning.
    let w = warnings(json!({"userid": "a@pve", "password": ["hunter2"]}));
    assert!(
        w[0].as_str()
            .unwrap()
            .contains("(password) was converted to '********'"),
        "{w}"
    );
    assert!(!w.to_string().contains("hunter2"));
    // Elements of a list of strings.
    let spec = Spec::new([Opt::list("users").elements(Kind::Str)]);
    let (v, _) = exec(&spec, json!({"users": ["a@pve", {"b": 1}]}));
    assert!(v["warnings"][0]
        .as_str()
        .unwrap()
        .starts_with("The value {'b': 1} (type dict) in a string field (users) was converted"));
}

#[test]
fn messages_stay_readable_whatever_their_input() {
    // A thousand unknown options are named ten at a time.
    let mut args = json!({"userid": "a@pve"});
    for i in 0..1000 {
        args[format!("opt{i:04}")] = json!(1);
    }
    let msg = error(&user_spec(), args);
    assert!(msg.contains("opt0009 and 990 more. Supported"), "{msg}");
    // A megabyte given for an option with choices is shown by its ends.
    let huge = "x".repeat(1 << 20);
    let msg = error(&user_spec(), json!({"userid": "a@pve", "state": huge}));
    assert!(msg.len() < 400, "{} characters", msg.len());
    assert!(msg.ends_with("(1048576 characters)"), "{msg}");
    // Whatever a body says is cut at MAX_MESSAGE, both ends kept.
    fn long(_: &mut Module) -> Result<Map<String, Value>, Failure> {
        Err(Failure::new(format!("start {} end", "y".repeat(1 << 20))))
    }
    let (v, _) = exec_with(&user_spec(), r#"{"userid": "a@pve"}"#, &[], long);
    let msg = v["msg"].as_str().unwrap();
    assert!(msg.chars().count() < text::MAX_MESSAGE + 40);
    assert!(
        msg.starts_with("start y") && msg.ends_with("y end (1048586 characters)"),
        "{}",
        &msg[msg.len() - 40..]
    );
}

fn user_spec() -> Spec {
    Spec::new([
        Opt::str("userid").required().aliases(&["user", "name"]),
        Opt::str("comment"),
        Opt::str("api_host").env("PROXMOX_HOST"),
        Opt::int("api_port").default(8006).env("PROXMOX_PORT"),
        Opt::str("state")
            .choices(&["present", "absent"])
            .default("present"),
        Opt::str("password").no_log(),
    ])
}

#[test]
fn aliases() {
    let p = params(&user_spec(), json!({"user": "a@pve"}));
    assert_eq!(p["userid"], "a@pve");
    assert!(p.get("user").is_none());
    let (v, code) = exec(&user_spec(), json!({"userid": "a@pve", "name": "b@pve"}));
    assert_eq!((code, &v["params"]["userid"]), (0, &json!("b@pve")));
    assert_eq!(
        v["warnings"],
        json!(["Both option userid and its alias name are set."])
    );
    // Two aliases: the warning names the later one, whose value wins.
    let (v, _) = exec(&user_spec(), json!({"name": "n@pve", "user": "u@pve"}));
    assert_eq!(v["params"]["userid"], "n@pve");
    assert_eq!(
        v["warnings"],
        json!(["Both option userid and its alias name are set."])
    );
}

#[test]
fn defaults_and_absent_options() {
    let p = params(&user_spec(), json!({"userid": "a@pve"}));
    assert_eq!(
        p,
        json!({"userid": "a@pve", "comment": null, "api_host": null, "api_port": 8006, "state": "present", "password": null})
    );
    let p = params(
        &user_spec(),
        json!({"userid": "a@pve", "state": null, "api_port": "9000", "comment": ""}),
    );
    assert_eq!(
        (&p["state"], &p["api_port"], &p["comment"]),
        (&json!("present"), &json!(9000), &json!(""))
    );
    // Defaults are coerced like given values.
    let spec = Spec::new([Opt::int("n").default("12"), Opt::list("l").default("a,b")]);
    assert_eq!(params(&spec, json!({})), json!({"n": 12, "l": ["a", "b"]}));
}

#[test]
fn choices() {
    assert_eq!(
        params(&user_spec(), json!({"userid": "a", "state": "absent"}))["state"],
        "absent"
    );
    assert_eq!(
        error(&user_spec(), json!({"userid": "a", "state": "gone"})),
        "value of state must be one of: present, absent, got: gone"
    );
    let spec = Spec::new([Opt::list("privs").choices(&["a", "b"])]);
    assert_eq!(
        params(&spec, json!({"privs": "a,b,a"}))["privs"],
        json!(["a", "b", "a"])
    );
    assert_eq!(
        error(&spec, json!({"privs": ["c", "a", "d"]})),
        "value of privs must be one or more of: a, b. Got no match for: c, d"
    );
    // A YAML boolean reaching a str option is mapped back to the one boolean choice.
    let spec = Spec::new([Opt::str("v").choices(&["yes", "no", "auto"])]);
    assert_eq!(params(&spec, json!({"v": true}))["v"], "yes");
    assert_eq!(params(&spec, json!({"v": false}))["v"], "no");
    let spec = Spec::new([Opt::str("update_password").choices(&["always", "on_create"])]);
    assert_eq!(
        error(&spec, json!({"update_password": true})),
        "value of update_password must be one of: always, on_create, got: True"
    );
}

#[test]
fn env_fallback() {
    let spec = user_spec();
    let env = [("PROXMOX_HOST", "pve1"), ("PROXMOX_PORT", "8007")];
    let run = |args: &str, env: &[(&str, &str)]| exec_with(&spec, args, env, echo);
    let (v, _) = run(r#"{"userid": "a"}"#, &env);
    assert_eq!(
        (&v["params"]["api_host"], &v["params"]["api_port"]),
        (&json!("pve1"), &json!(8007))
    );
    let (v, _) = run(r#"{"userid": "a", "api_host": null}"#, &env);
    assert_eq!(v["params"]["api_host"], "pve1");
    let (v, _) = run(
        r#"{"userid": "a", "api_host": "given", "api_port": 1}"#,
        &env,
    );
    assert_eq!(
        (&v["params"]["api_host"], &v["params"]["api_port"]),
        (&json!("given"), &json!(1))
    );
    let (v, _) = run(
        r#"{"userid": "a"}"#,
        &[("PROXMOX_HOST", ""), ("PROXMOX_PORT", "")],
    );
    assert_eq!(
        (&v["params"]["api_host"], &v["params"]["api_port"]),
        (&Value::Null, &json!(8006))
    );
    let (v, code) = run(r#"{"userid": "a"}"#, &[("PROXMOX_PORT", "eighty")]);
    assert_eq!(code, 1);
    assert!(v["msg"]
        .as_str()
        .unwrap()
        .starts_with("argument 'api_port' is of type str"));
    // The env value of a no_log option is a secret too.
    let spec = Spec::new([Opt::str("t").no_log().env("TOKEN")]);
    let (v, _) = exec_with(&spec, "{}", &[("TOKEN", "s3cr3t")], |m| {
        Ok(Map::from_iter([(
            "echo".to_string(),
            json!(m.params.str("t")),
        )]))
    });
    assert_eq!(v["echo"], "********");
}

#[test]
fn unknown_options() {
    let spec = Spec::new([
        Opt::str("name").aliases(&["userid", "user"]),
        Opt::str("comment"),
        Opt::str("api_host"),
    ]);
    assert_eq!(
        error(&spec, json!({"foo": 1, "name": "x"})),
        "Unsupported parameters for (m) module: foo. Supported parameters include: api_host, comment, name (user, userid)."
    );
    assert_eq!(
        error(&spec, json!({"zz": 1, "bar": 2, "_ansible_check_mode": true})),
        "Unsupported parameters for (m) module: bar, zz. Supported parameters include: api_host, comment, name (user, userid)."
    );
    let plain = Spec::new([Opt::str("b"), Opt::str("a")]);
    assert_eq!(
        error(&plain, json!({"c": null})),
        "Unsupported parameters for (m) module: c. Supported parameters include: a, b."
    );
    // Other errors come first, as AnsibleModule reports its first error.
    let spec = Spec::new([Opt::int("n"), Opt::str("r").required()]);
    assert_eq!(
        error(&spec, json!({"x": 1, "r": "a", "n": "q"}))[..18],
        *"argument 'n' is of"
    );
    assert_eq!(
        error(&spec, json!({"x": 1})),
        "missing required arguments: r"
    );
}

#[test]
fn required() {
    let spec = Spec::new([
        Opt::str("b").required(),
        Opt::str("a").required(),
        Opt::str("c"),
    ]);
    assert_eq!(
        error(&spec, json!({"c": "x"})),
        "missing required arguments: a, b"
    );
    assert_eq!(
        error(&spec, json!({"a": "x", "b": null})),
        "missing required arguments: b"
    );
    assert_eq!(
        params(&spec, json!({"a": "", "b": 0})),
        json!({"a": "", "b": "0", "c": null})
    );
}

fn acl_spec() -> Spec {
    let entry = Spec::new([
        Opt::str("path").required(),
        Opt::list("roles").aliases(&["role"]),
        Opt::bool("propagate").default(true),
        Opt::str("state").choices(&["present", "absent"]),
        Opt::str("secret").no_log(),
    ])
    .required_one_of(&["roles", "state"]);
    Spec::new([
        Opt::list("entries").suboptions(entry.clone()),
        Opt::dict("single").suboptions(entry),
        Opt::dict("free"),
    ])
}

#[test]
fn nested_options() {
    let p = params(
        &acl_spec(),
        json!({"entries": [{"path": "/", "role": "A,B"}, {"path": "/vms", "state": "absent", "propagate": "no"}]}),
    );
    assert_eq!(
        p["entries"],
        json!([
            {"path": "/", "roles": ["A", "B"], "propagate": true, "state": null, "secret": null},
            {"path": "/vms", "roles": null, "propagate": false, "state": "absent", "secret": null}
        ])
    );
    assert_eq!(p["single"], Value::Null);
    let p = params(
        &acl_spec(),
        json!({"single": "path=/x roles=R", "free": "a=1"}),
    );
    assert_eq!(
        p["single"],
        json!({"path": "/x", "roles": ["R"], "propagate": true, "state": null, "secret": null})
    );
    assert_eq!(p["free"], json!({"a": "1"}));
    let d = Params(p.as_object().unwrap().clone())
        .dicts("single")
        .unwrap();
    assert_eq!(d[0].str("path"), Some("/x"));
}

#[test]
fn nested_errors() {
    let e = |args: Value| error(&acl_spec(), args);
    assert_eq!(
        e(json!({"entries": [{"path": "/", "roles": "A", "bogus": 1}]})),
        "Unsupported parameters for (m) module: entries.bogus. Supported parameters include: path, propagate, roles, secret, state (role)."
    );
    assert_eq!(
        e(json!({"entries": [{"roles": "A"}]})),
        "missing required arguments: path found in entries"
    );
    assert_eq!(
        e(json!({"single": {"path": "/", "roles": "A", "propagate": "maybe"}})),
        "argument 'propagate' is of type str found in 'single'. and we were unable to convert to bool: The value 'maybe' \
         is not a valid boolean. Valid booleans include: 'y', 'yes', 'on', '1', 'true', 't', 1, 'n', 'no', 'off', '0', 'false', 'f', 0"
    );
    assert_eq!(
        e(json!({"entries": [{"path": "/", "state": "gone"}]})),
        "value of state must be one of: present, absent, got: gone found in entries"
    );
    assert_eq!(
        e(json!({"entries": [{"path": "/"}]})),
        "one of the following is required: roles, state found in entries"
    );
    assert_eq!(
        e(json!({"entries": [3]})),
        "Elements value for option 'entries' is of type int and we were unable to convert to dict: <class 'int'> cannot be converted to a dict"
    );
    assert!(e(json!({"single": [1]})).ends_with("<class 'list'> cannot be converted to a dict"));
    let (v, code) = exec(
        &acl_spec(),
        json!({"entries": [{"path": "/", "roles": "A"}, {"path": "/", "roles": "A", "role": "B"}]}),
    );
    assert_eq!(code, 0);
    assert_eq!(
        v["warnings"],
        json!(["Both option entries[1].roles and its alias entries[1].role are set."])
    );
    // Deeper nesting names the whole path.
    let spec = Spec::new([Opt::dict("a").suboptions(Spec::new([
        Opt::dict("b").suboptions(Spec::new([Opt::int("c").required()]))
    ]))]);
    assert_eq!(
        error(&spec, json!({"a": {"b": {}}})),
        "missing required arguments: c found in a -> b"
    );
    assert_eq!(
        error(&spec, json!({"a": {"b": {"c": 1, "d": 2}}})),
        "Unsupported parameters for (m) module: a.b.d. Supported parameters include: c."
    );
}

fn conn_spec() -> Spec {
    Spec::new([
        Opt::str("api_password").no_log(),
        Opt::str("api_token").no_log(),
        Opt::str("a"),
        Opt::str("b").default("x"),
        Opt::str("c"),
    ])
    .mutually_exclusive(&["api_password", "api_token"])
    .mutually_exclusive(&["a", "b"])
}

#[test]
fn mutually_exclusive() {
    assert_eq!(
        error(
            &conn_spec(),
            json!({"api_password": "pw1", "api_token": "tok1"})
        ),
        "parameters are mutually exclusive: api_password|api_token"
    );
    assert_eq!(
        error(
            &conn_spec(),
            json!({"api_password": "pw1", "api_token": "tok1", "a": 1, "b": 2})
        ),
        "parameters are mutually exclusive: api_password|api_token, a|b"
    );
    // A default does not count, nor does null.
    assert_eq!(
        params(
            &conn_spec(),
            json!({"a": "1", "api_token": null, "api_password": "pw1"})
        )["b"],
        "x"
    );
}

#[test]
fn required_together_and_one_of() {
    let spec = Spec::new([
        Opt::str("a"),
        Opt::str("b"),
        Opt::str("c"),
        Opt::str("d").default("x"),
    ])
    .required_together(&["a", "b"])
    .required_one_of(&["a", "c"])
    .required_one_of(&["c", "d"]);
    assert_eq!(
        error(&spec, json!({"a": "1"})),
        "parameters are required together: a, b"
    );
    assert_eq!(
        error(&spec, json!({})),
        "one of the following is required: a, c"
    );
    params(&spec, json!({"a": "1", "b": "2"}));
    params(&spec, json!({"c": "1"}));
}

#[test]
fn internal_keys() {
    let spec = Spec::new([Opt::str("x")]);
    let args = json!({
        "x": "1", "_ansible_check_mode": true, "_ansible_diff": "yes", "_ansible_no_log": "False",
        "_ansible_verbosity": 3, "_ansible_version": "2.19.0", "_ansible_module_name": "m",
        "_ansible_tmpdir": "/tmp/x", "_ansible_remote_tmp": "~/.ansible/tmp", "_ansible_keep_remote_files": false,
        "_ansible_socket": null, "_ansible_syslog_facility": "LOG_USER", "_ansible_selinux_special_fs": ["nfs"],
        "_ansible_shell_executable": "/bin/sh", "_ansible_string_conversion_action": "warn",
        "_ansible_target_log_info": null, "_ansible_tracebacks_for": [], "_ansible_debug": "0",
        "_ansible_something_new": {"a": 1}
    });
    let (v, code) = exec(&spec, args);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["flags"], json!([true, true, false, 3]));
    assert_eq!(v["params"], json!({"x": "1"}));
    let (v, _) = exec(
        &spec,
        json!({"_ansible_verbosity": "4", "_ansible_check_mode": "off"}),
    );
    assert_eq!(v["flags"], json!([false, false, false, 4]));
    let (v, _) = exec(&spec, json!({}));
    assert_eq!(v["flags"], json!([false, false, false, 0]));
    let (v, code) = exec(
        &spec,
        json!({"_ansible_ignore_unknown_opts": true, "zz": 1, "x": 2}),
    );
    assert_eq!((code, &v["params"]), (0, &json!({"x": "2"})));
    let msg = error(&spec, json!({"_ansible_check_mode": "maybe"}));
    assert!(
        msg.starts_with("m: _ansible_check_mode: The value 'maybe' is not a valid boolean."),
        "{msg}"
    );
}

#[test]
fn malformed_args() {
    let spec = Spec::new([Opt::str("x")]);
    let fail = |text: &str| {
        let (v, code) = exec_with(&spec, text, &[], echo);
        assert_eq!(
            (code, &v["failed"], &v["changed"]),
            (1, &json!(true), &json!(false)),
            "{text}"
        );
        v["msg"].as_str().unwrap().to_string()
    };
    assert_eq!(
        fail(""),
        "m: the module arguments are empty: expected a JSON object"
    );
    assert_eq!(
        fail(" \n"),
        "m: the module arguments are empty: expected a JSON object"
    );
    assert!(fail("not json").starts_with("m: the module arguments are not valid JSON: expected"));
    assert!(fail("{\"x\": 1,}").starts_with("m: the module arguments are not valid JSON"));
    assert!(fail("{\"x\": \"a\"} {}")
        .starts_with("m: the module arguments are not valid JSON: trailing characters"));
    assert_eq!(
        fail("[1, 2]"),
        "m: the module arguments must be a JSON object, not an array"
    );
    assert_eq!(
        fail("null"),
        "m: the module arguments must be a JSON object, not null"
    );
    assert_eq!(
        fail("\"x\""),
        "m: the module arguments must be a JSON object, not a string"
    );
    assert_eq!(
        fail("7"),
        "m: the module arguments must be a JSON object, not a number"
    );
    assert!(fail(&"[".repeat(100_000)).contains("recursion limit exceeded"));
    let deep = format!("{{\"x\": {}1{}}}", "[".repeat(5000), "]".repeat(5000));
    assert!(fail(&deep).contains("recursion limit exceeded"));
    // Python modules' wrapper is accepted.
    let (v, code) = exec_with(&spec, r#"{"ANSIBLE_MODULE_ARGS": {"x": "w"}}"#, &[], echo);
    assert_eq!((code, &v["params"]["x"]), (0, &json!("w")));
}

fn secret_body(m: &mut Module) -> Result<Map<String, Value>, Failure> {
    let pw = m.params.str("api_password").unwrap_or_default().to_string();
    m.hide("hidden-value");
    m.warn(format!("the password {pw} and hidden-value were used"));
    let nested = json!({"deep": [{"pw": pw, format!("key-{pw}"): 1}], "num": 12345});
    m.reveal(&["secret"], &pw);
    m.reveal(&["api_token"], &format!("u@pve!t={pw}"));
    m.reveal(&["secrets", "u@pve!t", "secret"], &pw);
    m.reveal(&["secrets", "u@pve!u", "secret"], &format!("{pw}2"));
    match m.params.str("c") {
        Some("fail") => Err(Failure::new(format!("login with {pw} failed"))
            .with("details", nested)
            .with("unrevealed", pw.clone())),
        _ => Ok(Map::from_iter([
            ("msg".to_string(), json!(format!("used {pw}"))),
            ("details".to_string(), nested),
            // Only what is revealed is returned as it is.
            ("unrevealed".to_string(), json!(pw)),
            ("warnings".to_string(), json!(["returned hidden-value"])),
        ])),
    }
}

#[test]
fn scrubbing() {
    let spec = conn_spec().with([Opt::int("pin").no_log()]);
    let args =
        json!({"api_password": "hunter2", "pin": 12345, "_ansible_no_log": false}).to_string();
    let (v, code) = exec_with(&spec, &args, &[], secret_body);
    assert_eq!(code, 0);
    assert_eq!(v["msg"], "used ********");
    assert_eq!(
        v["details"],
        json!({"deep": [{"pw": "********", "key-********": 1}], "num": "********"})
    );
    assert_eq!(
        v["warnings"],
        json!([
            "the password ******** and ******** were used",
            "returned ********"
        ])
    );
    assert_eq!(
        (&v["secret"], &v["api_token"]),
        (&json!("hunter2"), &json!("u@pve!t=hunter2"))
    );
    assert_eq!(
        v["secrets"],
        json!({"u@pve!t": {"secret": "hunter2"}, "u@pve!u": {"secret": "hunter22"}})
    );
    assert_eq!(v["unrevealed"], "********");
    assert_eq!(v["changed"], false);

    let args = json!({"api_password": "hunter2", "c": "fail"}).to_string();
    let (v, code) = exec_with(&spec, &args, &[], secret_body);
    assert_eq!(code, 1);
    assert_eq!(v["msg"], "login with ******** failed");
    assert_eq!(v["details"]["deep"][0]["pw"], "********");
    assert_eq!(v["secret"], "hunter2");
    assert_eq!(v["unrevealed"], "********");
    assert!(!v["warnings"].to_string().contains("hunter2"));
}

#[test]
fn scrubbing_edge_cases() {
    // An empty no_log value hides nothing; the longest secret is masked whole.
    let spec = Spec::new([
        Opt::str("a").no_log(),
        Opt::str("b").no_log(),
        Opt::str("c").no_log(),
    ]);
    let body: Body = |_| Ok(Map::from_iter([("msg".to_string(), json!("abc abcdef x"))]));
    let (v, _) = exec_with(&spec, r#"{"a": "abc", "b": "abcdef", "c": ""}"#, &[], body);
    assert_eq!(v["msg"], "******** ******** x");
    // A no_log value never appears in an error about it.
    let spec = Spec::new([
        Opt::int("pin").no_log(),
        Opt::bool("flag").no_log(),
        Opt::str("s").no_log().choices(&["a"]),
    ]);
    for (args, shown) in [
        (
            json!({"pin": "hunter2"}),
            "\"'********'\" cannot be converted to an int",
        ),
        (
            json!({"flag": "hunter2"}),
            "The value '********' is not a valid boolean.",
        ),
        (json!({"s": "hunter2"}), "got: ********"),
    ] {
        let msg = error(&spec, args);
        assert!(msg.contains(shown) && !msg.contains("hunter2"), "{msg}");
    }
    // Secrets inside a no_log dict or list, and of defaults, are hidden too.
    let spec = Spec::new([
        Opt::dict("d").no_log(),
        Opt::str("k").no_log().default("dflt-secret"),
    ]);
    let body: Body = |_| {
        Ok(Map::from_iter([(
            "msg".to_string(),
            json!("x-inner-y dflt-secret"),
        )]))
    };
    let (v, _) = exec_with(&spec, r#"{"d": {"p": ["inner"]}}"#, &[], body);
    assert_eq!(v["msg"], "x-********-y ********");
}

#[test]
fn results() {
    let spec = Spec::new([Opt::str("x")]);
    let (v, code) = exec_with(&spec, "{}", &[], |_| Ok(Map::new()));
    assert_eq!((v, code), (json!({"changed": false}), 0));
    let (v, _) = exec_with(&spec, "{}", &[], |m| {
        m.warn("w1");
        Ok(Map::from_iter([
            ("changed".to_string(), json!(true)),
            ("warnings".to_string(), json!("w2")),
        ]))
    });
    assert_eq!(v, json!({"changed": true, "warnings": ["w1", "w2"]}));
    let (v, code) = exec_with(&spec, "{}", &[], |_| {
        Err(Failure::from("bad")
            .with("failed", false)
            .with("msg", "other")
            .with("status", 403))
    });
    assert_eq!(
        (v, code),
        (
            json!({"failed": true, "msg": "bad", "changed": false, "status": 403}),
            1
        )
    );
    let (v, _) = exec_with(&spec, "{}", &[], |_| {
        Err(Failure::from("half done".to_string()).with("changed", true))
    });
    assert_eq!(v["changed"], true);
}

#[test]
fn check_and_diff_reach_the_body() {
    let spec = Spec::new([Opt::str("x")]);
    let body: Body = |m| {
        Ok(Map::from_iter([
            ("changed".to_string(), json!(!m.check_mode)),
            ("diff".to_string(), json!(m.diff)),
        ]))
    };
    let (v, _) = exec_with(
        &spec,
        r#"{"_ansible_check_mode": "True", "_ansible_diff": 1}"#,
        &[],
        body,
    );
    assert_eq!(v, json!({"changed": false, "diff": true}));
    let (v, _) = exec_with(&spec, r#"{"_ansible_check_mode": false}"#, &[], body);
    assert_eq!(v, json!({"changed": true, "diff": false}));
}

#[test]
fn params_accessors() {
    let p = Params::from_map(
        json!({"s": "x", "b": true, "i": 7, "l": ["a", 1], "d": [{"k": "v"}, 3], "n": null})
            .as_object()
            .unwrap()
            .clone(),
    );
    assert_eq!(
        (p.str("s"), p.bool("b"), p.int("i")),
        (Some("x"), Some(true), Some(7))
    );
    assert_eq!(p.list("l"), Some(vec!["a".to_string(), "1".to_string()]));
    assert_eq!(p.dicts("d").unwrap().len(), 1);
    assert_eq!(
        (p.get("n"), p.is_set("n"), p.is_set("s"), p.is_set("zz")),
        (None, false, true, false)
    );
    assert_eq!((p.str("i"), p.int("s"), p.list("s")), (None, None, None));
}

#[test]
fn spec_with_replaces_same_name() {
    let spec = Spec::new([Opt::str("a"), Opt::int("b")]).with([Opt::str("b").default("q")]);
    assert_eq!(params(&spec, json!({})), json!({"a": null, "b": "q"}));
}

/// A small xorshift generator: the fuzz tests need no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn value(&mut self, depth: u32) -> Value {
        const WORDS: [&str; 10] = [
            "",
            "yes",
            "a,b",
            "{\"path\": 1}",
            "k=v",
            "~/$HOME",
            "1.0",
            "x=",
            "entries",
            "_ansible_x",
        ];
        match self.below(if depth > 3 { 6 } else { 9 }) {
            0 => Value::Null,
            1 => json!(self.below(2) == 0),
            2 => json!(self.below(5) as i64 - 2),
            3 => json!(self.below(1000) as f64 / 7.0),
            4 | 5 => json!(WORDS[self.below(10) as usize]),
            6 => (0..self.below(4)).map(|_| self.value(depth + 1)).collect(),
            _ => {
                let mut m = Map::new();
                for _ in 0..self.below(5) {
                    let k = [
                        "path",
                        "roles",
                        "role",
                        "entries",
                        "single",
                        "free",
                        "propagate",
                        "zz",
                    ][self.below(8) as usize];
                    m.insert(k.into(), self.value(depth + 1));
                }
                Value::Object(m)
            }
        }
    }
}

fn assert_protocol(v: &Value, code: i32) {
    let obj = v.as_object().expect("an object");
    assert!(obj.get("changed").is_some_and(Value::is_boolean), "{v}");
    match code {
        0 => assert!(obj.get("failed").is_none(), "{v}"),
        1 => assert!(
            obj["failed"] == json!(true) && obj["msg"].is_string(),
            "{v}"
        ),
        _ => panic!("exit code {code}"),
    }
}

#[test]
fn fuzz_random_bytes() {
    let spec = acl_spec();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let len = rng.below(64) as usize;
        const ALPHABET: &[u8] = b"{}[]\":,0123456789.eE-+ tfnrulasx\\\x00\xff";
        let bytes: Vec<u8> = (0..len)
            .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize])
            .collect();
        let (v, code) = exec_with(&spec, &String::from_utf8_lossy(&bytes), &[], echo);
        assert_protocol(&v, code);
    }
}

#[test]
fn fuzz_random_json() {
    let spec = acl_spec().with([
        Opt::int("n"),
        Opt::path("p"),
        Opt::bool("b"),
        Opt::new("f", Kind::Float),
    ]);
    let mut rng = Rng(42);
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..5000 {
        let mut args = Map::new();
        for _ in 0..rng.below(4) {
            let k = [
                "entries",
                "single",
                "free",
                "n",
                "p",
                "b",
                "f",
                "zz",
                "_ansible_diff",
            ][rng.below(9) as usize];
            args.insert(k.into(), rng.value(0));
        }
        let (v, code) = exec_with(
            &spec,
            &Value::Object(args).to_string(),
            &[("HOME", "/h")],
            echo,
        );
        assert_protocol(&v, code);
        if code == 0 {
            ok += 1
        } else {
            failed += 1
        }
    }
    assert!(ok > 100 && failed > 100, "{ok} {failed}");
}

#[test]
fn diff_text_keeps_non_ascii_and_sorts_keys() {
    assert_eq!(
        diff_text(&json!({"z": "Grüße 東京", "a": [1, {"b": null}], "e": {}})),
        "{\n    \"a\": [\n        1,\n        {\n            \"b\": null\n        }\n    ],\n    \"e\": {},\n    \"z\": \"Grüße 東京\"\n}\n"
    );
    assert_eq!(diff_text(&json!({})), "{}\n");
}

#[test]
fn spec_prints_as_ansible_argument_spec() {
    let entry = Spec::new([
        Opt::str("path").required(),
        Opt::list("roles").aliases(&["role"]).choices(&["A", "B"]),
    ])
    .required_together(&["path", "roles"]);
    let spec = Spec::new([
        Opt::str("name").required().aliases(&["user", "login"]),
        Opt::str("password").no_log().env("HELLO_PASSWORD"),
        Opt::int("port").default(8006),
        Opt::bool("append").default(false),
        Opt::path("ca"),
        Opt::new("data", Kind::Raw),
        Opt::new("entries", Kind::List).suboptions(entry),
        Opt::dict("require"),
        Opt::str("tokenid").not_secret(),
    ])
    .mutually_exclusive(&["entries", "name"])
    .required_one_of(&["name", "entries"]);
    assert_eq!(
        spec.to_json(),
        json!({
            "argument_spec": {
                "name": {"type": "str", "required": true, "aliases": ["user", "login"]},
                "password": {"type": "str", "no_log": true, "fallback": ["env_fallback", ["HELLO_PASSWORD"]]},
                "port": {"type": "int", "default": 8006},
                "append": {"type": "bool", "default": false},
                "ca": {"type": "path"},
                "data": {"type": "raw"},
                "entries": {
                    "type": "list",
                    "elements": "dict",
                    "options": {
                        "path": {"type": "str", "required": true},
                        "roles": {"type": "list", "elements": "str", "choices": ["A", "B"], "aliases": ["role"]},
                    },
                    "required_together": [["path", "roles"]],
                },
                "require": {"type": "dict"},
                "tokenid": {"type": "str", "no_log": false},
            },
            "mutually_exclusive": [["entries", "name"]],
            "required_one_of": [["name", "entries"]],
        })
    );
}

#[test]
fn printed_spec_shows_a_replaced_option_as_replaced() {
    let spec = Spec::new([Opt::str("b"), Opt::str("a")]).with([Opt::int("b").required()]);
    let printed = spec.to_json();
    assert_eq!(printed["argument_spec"].as_object().unwrap().len(), 2);
    assert_eq!(
        printed["argument_spec"]["b"],
        json!({"type": "int", "required": true})
    );
    assert_eq!(
        printed.as_object().unwrap().len(),
        1,
        "no empty relations: {printed}"
    );
}
