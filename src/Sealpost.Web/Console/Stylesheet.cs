namespace Sealpost.Web.Console;

/// <summary>The console's one stylesheet (served from /console/console.css: no inline style, nothing from another origin).</summary>
internal static class Stylesheet
{
    // Contrast: text #1b1f24 on #ffffff (16:1), links #0b4f8a (8.6:1), muted #4a5560 (7.4:1): WCAG 2.1 AA and better.
    public const string Css = """
        :root { color-scheme: light; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 16px/1.5 system-ui, "Noto Sans CJK TC", "Noto Sans", sans-serif; color: #1b1f24; background: #ffffff; }
        header { display: flex; flex-wrap: wrap; gap: .75rem 1.5rem; align-items: center; padding: .75rem 1rem; background: #0b2540; color: #ffffff; }
        header a, header button.link { color: #ffffff; }
        header .brand { font-weight: 700; margin-right: auto; }
        nav ul { display: flex; flex-wrap: wrap; gap: .5rem 1rem; list-style: none; margin: 0; padding: 0; }
        main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
        a { color: #0b4f8a; }
        a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #d97706; outline-offset: 2px; }
        h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
        form.stack { display: grid; gap: .75rem; max-width: 28rem; }
        label { display: block; font-weight: 600; }
        input[type=text], input[type=password], input[type=email], input[type=date], select, textarea { width: 100%; padding: .5rem; border: 1px solid #4a5560; border-radius: 4px; font: inherit; }
        button { padding: .5rem 1rem; border: 1px solid #0b4f8a; border-radius: 4px; background: #0b4f8a; color: #ffffff; font: inherit; cursor: pointer; }
        button.secondary { background: #ffffff; color: #0b4f8a; }
        button.link { border: 0; background: none; padding: 0; text-decoration: underline; }
        .error { color: #a11212; }
        .notice { padding: .75rem; border-left: 4px solid #1d6b33; background: #eef7f0; }
        .secret { font-family: ui-monospace, monospace; font-size: 1.2rem; padding: .5rem; background: #f3f4f6; word-break: break-all; }
        .muted, .detail { color: #4a5560; }
        table { width: 100%; border-collapse: collapse; }
        th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid #d1d5db; }
        fieldset { border: 1px solid #d1d5db; border-radius: 4px; padding: .5rem .75rem; display: grid; gap: .5rem; }
        fieldset label { font-weight: 400; }
        form.inline { display: inline-flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: 0; }
        form.inline label { display: inline; }
        form.inline input[type=email] { width: auto; }
        form.search, form.filters { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: flex-end; margin-bottom: 1rem; }
        form.search input, form.search select { width: auto; }
        code, pre { font-family: ui-monospace, monospace; font-size: .85rem; }
        .slip { display: block; word-break: break-all; white-space: pre-wrap; background: #f3f4f6; padding: .25rem .5rem; }
        nav a[aria-current=page] { font-weight: 700; }
        ul.members { margin: .25rem 0 .5rem; }
        .skip { position: absolute; left: -999px; }
        .skip:focus { left: 1rem; top: 1rem; background: #ffffff; color: #0b4f8a; padding: .5rem; }
        @media (max-width: 40rem) { header { flex-direction: column; align-items: flex-start; } th, td { display: block; } }
        """;
}
