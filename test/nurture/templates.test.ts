import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QualifyError } from "../../src/errors.js";
import { renderTemplate, type TemplateVars, templateVarsFor } from "../../src/nurture/render-template.js";
import { loadTemplate, templateVariables } from "../../src/nurture/template-spec.js";
import { postIngest } from "../support/live-checks.js";
import { qualify } from "../support/live-cli.js";
import { tempFiles } from "../support/run-cli.js";
import { DATABASE_KINDS } from "../support/test-database.js";
import { startTestService, type TestService } from "../support/test-service.js";

/**
 * Email templates: the YAML and its Liquid checked with every error's line, rendering (escaping in
 * the HTML part, defaults, missing traits), and the API and CLI over a real server: versions, 422s
 * with lines, a preview for a real lead.
 */

const WELCOME = `id: tpl-welcome
name: Welcome
subject: "Welcome to Acme, {{ trait.first_name | default: 'there' }}"
html: |
  <p>Hi {{ trait.first_name | default: "there" }},</p>
  <p>See <a href="https://acme.example/pricing">our pricing</a> for {{ account.name | default: "your team" }}.</p>
  <p><a href="{{ unsubscribe_url }}">Unsubscribe</a> · {{ postal_address }}</p>
text: |
  Hi {{ lead.first_name | default: "there" }}, see https://acme.example/pricing
  Unsubscribe: {{ unsubscribe_url }}
`;

const vars = (over: Partial<TemplateVars> = {}): TemplateVars => ({
  trait: {},
  account: {},
  lead: { email: null, name: null, first_name: null },
  unsubscribe_url: "https://q.example/u/1?a=1&b=2",
  postal_address: "1 Example Street",
  ...over,
});

function errorsOf(text: string): { code: string; message: string; at: string[] } {
  try {
    loadTemplate(text, "bad.yaml");
  } catch (e) {
    const err = e as QualifyError;
    return {
      code: err.code,
      message: err.message,
      at: err.details.map((d) => `${d.line}${d.column ? `:${d.column}` : ""} ${d.path}: ${d.message}`),
    };
  }
  throw new Error("expected the template to be rejected");
}

describe("loadTemplate", () => {
  it("reads a template and lists the variables it uses", () => {
    const t = loadTemplate(WELCOME);
    expect(t).toMatchObject({ id: "tpl-welcome", name: "Welcome" });
    expect(templateVariables(t)).toEqual([
      "account.name",
      "lead.first_name",
      "postal_address",
      "trait.first_name",
      "unsubscribe_url",
    ]);
  });

  it("reports every error at once, each with its path and its line in the YAML", () => {
    const bad = `id: Bad Id
subject: "Hi {{ traits.first_name }}"
html: |
  <p>Hi {{ foo }}</p>

  {% include 'footer' %}
    <p>{{ lead.emial }} {{ trait }}</p>
text: >
  {% if %}
bogus: 1
`;
    const { code, message, at } = errorsOf(bad);
    expect(code).toBe("TEMPLATE_INVALID");
    expect(message).toBe("bad.yaml: template is invalid (8 errors)");
    expect(at[0]).toMatch(/^1 id: expected an id of lowercase/);
    expect(at.slice(1)).toEqual([
      "2:17 subject: unknown variable 'traits.first_name' (did you mean trait.first_name?)",
      expect.stringMatching(
        /^4:12 html: unknown variable 'foo': a template reads trait.<name>, account.<name>/,
      ),
      "6:3 html: the include tag is not available in email templates",
      "7:11 html: unknown variable 'lead.emial': lead has email, name, first_name",
      "7:28 html: 'trait' needs a field, such as trait.first_name",
      '8 text: invalid value expression: ""',
      "10 bogus: unknown field",
    ]);
  });

  it("rejects Liquid syntax errors, unknown filters and raw, with their lines", () => {
    const { at } = errorsOf(`id: t
subject: "Hi {{ trait.name"
html: |
  <p>ok</p>
  <p>{{ trait.name | shout }}</p>
text: |
  {{ trait.name | raw }}
`);
    expect(at).toEqual([
      '2:14 subject: output "{{ trait.name" not closed',
      "5:6 html: undefined filter: shout",
      "7:3 text: the raw filter is not available: values are always escaped in the HTML part",
    ]);
  });

  it("requires the html and the text parts", () => {
    expect(errorsOf("id: t\nsubject: Hi\n").at).toEqual(["1 html: is required", "1 text: is required"]);
    expect(errorsOf("id: t\nsubject: Hi\nhtml: <p>x</p>\ntext: ''\n").at).toEqual([
      "4 text: must not be empty",
    ]);
  });

  it("reports bad YAML as such", () => {
    const e = errorsOf("id: t\nsubject: [oops\n");
    expect(e.message).toBe("bad.yaml: not valid YAML");
  });
});

describe("renderTemplate", () => {
  const t = loadTemplate(WELCOME);

  it("escapes values in the HTML part only", () => {
    const r = renderTemplate(
      t,
      vars({ trait: { first_name: "<b>Ann</b>" }, account: { name: "Smith & Co" } }),
    );
    expect(r.subject).toBe("Welcome to Acme, <b>Ann</b>");
    expect(r.html).toContain("<p>Hi &lt;b&gt;Ann&lt;/b&gt;,</p>");
    expect(r.html).toContain("for Smith &amp; Co.</p>");
    expect(r.html).toContain('<a href="https://q.example/u/1?a=1&amp;b=2">');
    expect(r.text).toContain("Unsubscribe: https://q.example/u/1?a=1&b=2");
  });

  it("uses the default for a missing or empty trait, and nothing at all without one", () => {
    const r = renderTemplate(t, vars({ trait: { first_name: "" } }));
    expect(r.subject).toBe("Welcome to Acme, there");
    expect(r.html).toContain("for your team.");
    const plain = loadTemplate(
      "id: t\nsubject: '[{{ trait.nope }}][{{ account.none }}]'\nhtml: '{{ trait.n }}|{{ lead.name }}'\ntext: '{{ trait.x.y }}.'\n",
    );
    expect(renderTemplate(plain, vars({ trait: { n: null } }))).toEqual({
      subject: "[][]",
      html: "|",
      text: ".",
    });
  });

  it("keeps the subject on one line", () => {
    const s = loadTemplate("id: t\nsubject: 'Hi {{ trait.name }}'\nhtml: x\ntext: x\n");
    expect(renderTemplate(s, vars({ trait: { name: "Ann\r\nBcc: x@evil.example" } })).subject).toBe(
      "Hi Ann Bcc: x@evil.example",
    );
  });

  it("derives lead fields and the sender from a lead and the From address", () => {
    const v = templateVarsFor(
      { email: "ann@acme.example", name: "Ann Lee", traits: { title: "VP" }, account: { name: "Acme" } },
      { unsubscribeUrl: "u", postalAddress: "p", from: '"Acme & Sons" <news@acme.example>' },
    );
    expect(v.lead).toEqual({ email: "ann@acme.example", name: "Ann Lee", first_name: "Ann" });
    expect(v.sender).toEqual({ name: "Acme & Sons", address: "news@acme.example" });
    const s = loadTemplate("id: t\nsubject: x\nhtml: '{{ sender.name }} <{{ sender.address }}>'\ntext: x\n");
    expect(renderTemplate(s, v).html).toBe("Acme &amp; Sons <news@acme.example>");
  });
});

describe.each(DATABASE_KINDS)("the templates API on %s", (kind) => {
  let service: TestService;
  let leadId = "";
  const now = Date.parse("2026-03-02T10:00:00Z");

  beforeAll(async () => {
    service = await startTestService(kind, { clock: () => now });
    await postIngest(service, "/v1/identify", {
      userId: "u-ann",
      traits: { email: "ann@acme.example", name: "Ann Lee", title: "VP <Marketing>" },
    });
    await postIngest(service, "/v1/group", {
      userId: "u-ann",
      groupId: "acme",
      traits: { name: "Acme & Co" },
    });
    await service.drain();
    leadId = (await service.api("GET", "/api/leads?userId=u-ann")).body.items[0].id;
  });

  afterAll(async () => {
    await service?.close();
  });

  it("stores versions, lists the latest, and shows each version", async () => {
    const first = await service.api("POST", "/api/templates", { source: WELCOME });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      id: "tpl-welcome",
      version: 1,
      createdAt: new Date(now).toISOString(),
    });
    expect(first.body.createdBy).toBeTypeOf("string");
    const second = await service.api("POST", "/api/templates", {
      source: WELCOME.replace("Welcome to", "Hello from"),
    });
    expect(second.body.version).toBe(2);

    const list = await service.api("GET", "/api/templates");
    expect(list.body).toEqual([
      expect.objectContaining({ id: "tpl-welcome", version: 2, versions: 2, name: "Welcome" }),
    ]);
    expect(list.body[0].subject).toMatch(/^Hello from Acme/);

    const latest = await service.api("GET", "/api/templates/tpl-welcome");
    expect(latest.body.version).toBe(2);
    expect(latest.body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(latest.body.variables).toContain("trait.first_name");
    const v1 = await service.api("GET", "/api/templates/tpl-welcome/versions/1");
    expect(v1.body).toMatchObject({ version: 1, source: WELCOME });
    expect((await service.api("GET", "/api/templates/tpl-welcome/versions/9")).status).toBe(404);
    expect((await service.api("GET", "/api/templates/nope")).status).toBe(404);
  });

  it("answers 422 with every error's path and line, on check and on save", async () => {
    const bad = "id: tpl-bad\nsubject: '{{ foo }}'\nhtml: |\n  <p>{{ traits.x }}</p>\n";
    for (const path of ["/api/templates/check", "/api/templates"]) {
      const res = await service.api("POST", path, { source: bad });
      expect(res.status).toBe(422);
      expect(res.body.error).toBe("TEMPLATE_INVALID");
      expect(res.body.details).toEqual([
        expect.objectContaining({ path: "text", line: 1, message: "is required" }),
        expect.objectContaining({ path: "subject", line: 2, column: 14 }),
        expect.objectContaining({ path: "html", line: 4, column: 9 }),
      ]);
    }
    const ok = await service.api("POST", "/api/templates/check", { source: WELCOME });
    expect(ok.body).toMatchObject({ ok: true, spec: { id: "tpl-welcome" } });
    expect((await service.api("GET", "/api/templates/tpl-bad")).status).toBe(404);
  });

  it("previews a template for a real lead, its account and the workspace's postal address", async () => {
    const settings = await service.api("PUT", "/api/nurture/settings", {
      postalAddress: "Acme, 1 Example Street, Springfield",
    });
    expect(settings.status).toBe(200);
    const res = await service.api("POST", "/api/templates/tpl-welcome/preview", { leadId });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: "tpl-welcome", version: 2, subject: "Hello from Acme, there" });
    expect(res.body.html).toContain("for Acme &amp; Co.</p>");
    expect(res.body.html).toMatch(/href="http:\/\/127\.0\.0\.1:\d+\/unsubscribe\/preview"/);
    expect(res.body.html).toContain("Acme, 1 Example Street, Springfield");
    expect(res.body.text).toMatch(/^Hi Ann, see/);

    const given = await service.api("POST", "/api/templates/tpl-welcome/preview", {
      leadId,
      version: 1,
      traits: { first_name: "Annie" },
    });
    expect(given.body.subject).toBe("Welcome to Acme, Annie");
    const nobody = await service.api("POST", "/api/templates/tpl-welcome/preview", {});
    expect(nobody.body.html).toContain("for your team.");
    expect((await service.api("POST", "/api/templates/tpl-welcome/preview", { leadId: "nope" })).status).toBe(
      404,
    );
  });

  it("lets only marketing save", async () => {
    await service.api("POST", "/api/users", { email: "sam@corp.example", role: "sales" });
    const token = (await service.api("POST", "/api/tokens", { user: "sam@corp.example" })).body.token;
    expect((await service.api("POST", "/api/templates", { source: WELCOME }, token)).status).toBe(403);
    expect((await service.api("GET", "/api/templates", undefined, token)).status).toBe(200);
  });

  if (kind === "pglite")
    it("works from the CLI: check, save, list, show and preview", async () => {
      const files = tempFiles({
        "welcome.yaml": WELCOME,
        "bad.yaml": "id: tpl-x\nsubject: '{{ foo }}'\nhtml: x\ntext: x\n",
      });
      const env = {
        QUALIFY_URL: service.url,
        QUALIFY_TOKEN: service.adminToken,
        QUALIFY_DATA_DIR: mkdtempSync(join(tmpdir(), "qualify-templates-")),
      };
      const bad = await qualify(["templates", "check", files["bad.yaml"] as string], env);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain("line 2: subject: unknown variable 'foo'");
      const check = await qualify(["templates", "check", files["welcome.yaml"] as string], env);
      expect(check.stdout).toContain("ok (template tpl-welcome)\nvariables: account.name, lead.first_name,");
      const saved = await qualify(["templates", "save", files["welcome.yaml"] as string], env);
      expect(saved.stdout).toBe("saved template tpl-welcome version 3\n");
      expect((await qualify(["templates", "list"], env)).stdout).toBe(
        "tpl-welcome  v3 (3 versions)  Welcome to Acme, {{ trait.first_name | default: 'there' }}\n",
      );
      expect((await qualify(["templates", "show", "tpl-welcome", "2"], env)).stdout).toMatch(
        /^# template tpl-welcome v2, .*\n# variables: .*\nid: tpl-welcome\n/,
      );
      const preview = await qualify(["templates", "preview", "tpl-welcome", "--lead", leadId], env);
      expect(preview.stdout).toMatch(/^Subject: Welcome to Acme, there\n\n--- html \(v3\) ---\n<p>Hi there,/);
      expect(preview.stdout).toContain("--- text ---\nHi Ann, see");
    });
});
