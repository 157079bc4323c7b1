//! End-to-end template cases: Docker inspect and list formats, checked against outputs of
//! Docker 28's Go templates.

use serde_json::{Value, json};

use super::{Error, Format, MissingKey, Template, tabwrite};

fn render_table(format: &str, headers: &[(&str, &str)], rows: &[Value]) -> Result<String, Error> {
    Format::parse(format)?.render(headers, rows)
}

fn container() -> Value {
    json!({
        "Id": "4f3c2b1a",
        "Name": "/web",
        "State": {"Status": "running", "Running": true, "Pid": 4242, "ExitCode": 0},
        "Config": {
            "Env": ["PATH=/usr/bin", "A=<b>&c"],
            "Labels": {"a": "1", "com.example.x": "y"},
            "Cmd": ["sh", "-c", "echo hi"]
        },
        "Mounts": [
            {"Type": "bind", "Source": "/srv", "Destination": "/data", "RW": true},
            {"Type": "volume", "Name": "v1", "Source": "/var/lib/v1", "Destination": "/cache", "RW": false}
        ],
        "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "10.88.0.2"}, "alt": {"IPAddress": "10.89.0.3"}}},
        "HostConfig": {"Binds": null, "Memory": 536870912}
    })
}

fn run(tmpl: &str, data: &Value) -> String {
    Template::parse(tmpl).unwrap().execute(data).unwrap()
}

fn run_err(tmpl: &str, data: &Value) -> String {
    match Template::parse(tmpl).and_then(|t| t.execute(data)) {
        Ok(s) => panic!("{tmpl} gave {s:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn docker_inspect_formats() {
    let c = container();
    assert_eq!(run("{{.State.Status}}", &c), "running");
    assert_eq!(run("{{json .Config.Env}}", &c), r#"["PATH=/usr/bin","A=<b>&c"]"#);
    assert_eq!(
        run("{{range .Mounts}}{{.Destination}} {{end}}", &c),
        "/data /cache "
    );
    assert_eq!(run(r#"{{index .Config.Labels "a"}}"#, &c), "1");
    assert_eq!(run(r#"{{index .Config.Labels "nope"}}"#, &c), "");
    assert_eq!(run("{{.Config.Labels}}", &c), "map[a:1 com.example.x:y]");
    assert_eq!(run("{{.Config.Cmd}}", &c), "[sh -c echo hi]");
    assert_eq!(
        run("{{.State.Pid}} {{.State.Running}} {{.HostConfig.Memory}}", &c),
        "4242 true 536870912"
    );
    assert_eq!(
        run("{{.Nope}} {{.HostConfig.Binds}} {{.Missing.Deeper}}", &c),
        "<no value> <no value> <no value>"
    );
    assert_eq!(
        run(
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}};{{end}}",
            &c
        ),
        "alt=10.89.0.3;bridge=10.88.0.2;"
    );
    assert_eq!(
        run("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", &c),
        "10.89.0.310.88.0.2"
    );
    assert_eq!(run("{{(index .Mounts 1).Name}}", &c), "v1");
    assert_eq!(
        run("{{json .State}}", &c),
        r#"{"ExitCode":0,"Pid":4242,"Running":true,"Status":"running"}"#
    );
    assert_eq!(run("{{.Name | printf \"%s!\"}}", &c), "/web!");
    assert_eq!(run("{{if eq .State.ExitCode 0}}ok{{else}}bad{{end}}", &c), "ok");
}

#[test]
fn functions() {
    let c = container();
    assert_eq!(run(r#"{{join .Config.Cmd ","}}"#, &c), "sh,-c,echo hi");
    assert_eq!(
        run(r#"{{split "a:b:c" ":"}} {{len (split "a:b" ":")}}"#, &c),
        "[a b c] 2"
    );
    assert_eq!(
        run(
            r#"{{upper .State.Status}} {{.Name | lower}} {{title "hello world"}}"#,
            &c
        ),
        "RUNNING /web Hello World"
    );
    assert_eq!(
        run(r#"[{{pad "x" 1 2}}][{{pad "" 1 2}}] {{truncate "abcdef" 3}}"#, &c),
        "[ x  ][] abc"
    );
    assert_eq!(
        run("{{len .Mounts}} {{len .Config.Labels}} {{len .Name}}", &c),
        "2 2 4"
    );
    assert_eq!(run("{{println .Name 1}}x", &c), "/web 1\nx");
    assert_eq!(
        run(r#"{{printf "%d-%v-%q" .State.Pid .State.Running .Name}}"#, &c),
        r#"4242-true-"/web""#
    );
    assert_eq!(run("{{print 1 2 \"a\" 3}}", &c), "1 2a3");
    assert_eq!(
        run(
            "{{and 1 0 2}} {{or 0 \"\" \"x\"}} {{not .State.Running}} {{and .Nope .Fail.X}}",
            &c
        ),
        "0 x false <no value>"
    );
    assert_eq!(
        run(
            "{{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1 2}} {{ne .Name \"/web\"}}",
            &c
        ),
        "true true true false false"
    );
    assert_eq!(run("{{eq .State.Status \"exited\" \"running\"}}", &c), "true");
    assert_eq!(
        run("{{slice .Name 1}} {{index .Config.Cmd 2}}", &c),
        "web echo hi"
    );
}

#[test]
fn control_structures_and_variables() {
    let c = container();
    assert_eq!(run("{{with .State}}{{.Status}}{{end}}", &c), "running");
    assert_eq!(run("{{with .Nope}}x{{else}}none{{end}}", &c), "none");
    assert_eq!(
        run("{{if .Nope}}a{{else if .State.Running}}b{{else}}c{{end}}", &c),
        "b"
    );
    assert_eq!(
        run("{{range .HostConfig.Binds}}x{{else}}empty{{end}}", &c),
        "empty"
    );
    assert_eq!(
        run("{{$n := .Name}}{{range .Mounts}}{{$n}}:{{.Type}} {{end}}", &c),
        "/web:bind /web:volume "
    );
    assert_eq!(run("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", &c), "2");
    assert_eq!(
        run(
            "{{range $i, $m := .Mounts}}{{$i}}{{$m.Type}}{{$.Name}} {{end}}",
            &c
        ),
        "0bind/web 1volume/web "
    );
    assert_eq!(
        run(
            "{{range .Mounts}}{{if .RW}}{{continue}}{{end}}{{.Name}}{{end}}",
            &c
        ),
        "v1"
    );
    assert_eq!(run("{{range .Mounts}}{{.Type}}{{break}}{{end}}", &c), "bind");
    assert_eq!(run("a  {{- .Name -}}  \n b", &c), "a/webb");
    assert_eq!(run("{{/* comment */}}x{{- /* trimmed */ -}} y", &c), "xy");
    assert_eq!(run("{{.}}", &json!("plain")), "plain");
}

#[test]
fn errors_are_docker_worded() {
    let c = container();
    assert_eq!(
        run_err("{{foo .X}}", &c),
        r#"template parsing error: template: :1: function "foo" not defined"#
    );
    assert_eq!(
        run_err("x\n{{if .A}}", &c),
        "template parsing error: template: :2: unexpected EOF"
    );
    assert_eq!(
        run_err("{{.Name.x}}", &c),
        r#"template parsing error: template: :1:7: executing "" at <.Name.x>: can't evaluate field x in type string"#
    );
    assert_eq!(
        run_err("{{.HostConfig.Binds.x}}", &c),
        r#"template parsing error: template: :1:13: executing "" at <.HostConfig.Binds.x>: nil pointer evaluating interface {}.x"#
    );
    assert_eq!(
        run_err("{{index .Config.Cmd 5}}", &c),
        r#"template parsing error: template: :1:2: executing "" at <index .Config.Cmd 5>: error calling index: index out of range: 5"#
    );
    assert_eq!(
        run_err("{{eq .Name 0}}", &c),
        r#"template parsing error: template: :1:2: executing "" at <eq .Name 0>: error calling eq: incompatible types for comparison"#
    );
    assert_eq!(
        run_err("{{upper .State.Pid}}", &c),
        r#"template parsing error: template: :1:14: executing "" at <.State.Pid>: wrong type for value; expected string; got int"#
    );
    assert_eq!(
        run_err("{{len 3}}", &c),
        r#"template parsing error: template: :1:2: executing "" at <len 3>: error calling len: len of type int"#
    );
    assert_eq!(
        run_err("{{upper}}", &c),
        r#"template parsing error: template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 0"#
    );
    assert_eq!(
        run_err("{{range .State.Pid}}{{end}}", &c),
        r#"template parsing error: template: :1:8: executing "" at <.State.Pid>: range can't iterate over 4242"#
    );
    assert_eq!(
        run_err("{{.Name 1}} ", &c),
        r#"template parsing error: template: :1:2: executing "" at <.Name>: Name is not a method but has arguments"#
    );
    assert_eq!(
        run_err("{{printf 1}}", &c),
        r#"template parsing error: template: :1:9: executing "" at <1>: expected string; found 1"#
    );
    assert_eq!(
        run_err(r#"{{pad .Name -1 2}}"#, &c),
        r#"template parsing error: template: :1:2: executing "" at <pad .Name -1 2>: error calling pad: strings: negative Repeat count"#
    );
    assert_eq!(
        run_err(r#"{{(print "a") "b"}}"#, &c),
        r#"template parsing error: template: :1:2: executing "" at <(print "a") "b">: can't give argument to non-function print "a""#
    );
    assert_eq!(
        run_err("{{(.State).Pid.x}}", &c),
        r#"template parsing error: template: :1:3: executing "" at <.State>: can't evaluate field x in type int"#
    );
    assert_eq!(
        run_err("{{$x = 1}}", &c),
        r#"template parsing error: template: :1:7: executing "" at <1>: undefined variable: $x"#
    );
    let strict = Template::parse("{{.ID}} {{.Nope}}")
        .unwrap()
        .with_missing_key(MissingKey::MapError);
    assert_eq!(
        strict.execute(&json!({"ID": "x"})),
        Err(Error::Exec {
            line: 1,
            col: 10,
            context: ".Nope".into(),
            msg: r#"map has no entry for key "Nope""#.into()
        })
    );
}

#[test]
fn table_format_aligns_like_docker() {
    let headers = [
        ("ID", "CONTAINER ID"),
        ("Image", "IMAGE"),
        ("Names", "NAMES"),
        ("Status", "STATUS"),
    ];
    let rows = [
        json!({"ID": "4f3c2b1a9d8e", "Image": "busybox", "Names": "web", "Status": "Up 2 minutes"}),
        json!({"ID": "0a1b2c3d4e5f", "Image": "registry.local/app:1.2", "Names": "a", "Status": "Exited (0) 1 hour ago"}),
    ];
    let out = render_table(
        "table {{.ID}}\\t{{.Image}}\\t{{.Names | upper}}\\t{{.Status}}",
        &headers,
        &rows,
    )
    .unwrap();
    assert_eq!(
        out,
        "CONTAINER ID   IMAGE                    NAMES     STATUS\n\
         4f3c2b1a9d8e   busybox                  WEB       Up 2 minutes\n\
         0a1b2c3d4e5f   registry.local/app:1.2   A         Exited (0) 1 hour ago\n"
    );
    // Header only when there are no rows.
    assert_eq!(
        render_table("table {{.ID}}\\t{{.Names}}", &headers, &[]).unwrap(),
        "CONTAINER ID   NAMES\n"
    );
    // A row error prints nothing.
    let strict = Format::parse("table {{.ID}}\\t{{.Nope}}")
        .unwrap()
        .with_missing_key(MissingKey::Field("*formatter.ContainerContext".into()));
    assert_eq!(
        strict.render(&headers, &rows).unwrap_err().to_string(),
        "template parsing error: template: :1:10: executing \"\" at <.Nope>: can't evaluate field Nope in type *formatter.ContainerContext"
    );
}

#[test]
fn plain_and_json_formats() {
    let rows = [
        json!({"ID": "a", "Names": "x<y"}),
        json!({"ID": "b", "Names": "z"}),
    ];
    let f = Format::parse("  {{.ID}}\\t{{.Names}}\\n ").unwrap();
    assert_eq!(f.render(&[], &rows).unwrap(), "a\tx<y\n\nb\tz\n\n");
    assert_eq!(
        Format::parse("json").unwrap().render(&[], &rows).unwrap(),
        "{\"ID\":\"a\",\"Names\":\"x<y\"}\n{\"ID\":\"b\",\"Names\":\"z\"}\n"
    );
    // Inspect-style templates keep `\n` literally.
    assert_eq!(run("{{.ID}}\\n", &rows[0]), "a\\n");
}

#[test]
fn default_listing_tabwriter() {
    let rows = vec![
        vec![
            "REPOSITORY".to_string(),
            "TAG".into(),
            "IMAGE ID".into(),
            "CREATED".into(),
            "SIZE".into(),
        ],
        vec![
            "busybox".into(),
            "latest".into(),
            "6fd955f66c23".into(),
            "2 weeks ago".into(),
            "4.26MB".into(),
        ],
    ];
    assert_eq!(
        tabwrite(&rows),
        "REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n\
         busybox      latest    6fd955f66c23   2 weeks ago   4.26MB\n"
    );
}
