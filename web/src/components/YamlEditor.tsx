import { yaml } from "@codemirror/lang-yaml";
import { type Diagnostic, linter, lintGutter } from "@codemirror/lint";
import { EditorView } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, api } from "../api";

/** A problem the server found, at a 1-based line (null: the whole document). */
export interface Problem {
  line: number | null;
  path: string;
  message: string;
}

/** The problems in an API error: each detail with its path and line (422 from a check). */
export const problemsOf = (e: unknown): Problem[] =>
  e instanceof ApiError
    ? (e.body.details ?? [{ path: e.body.field ?? "model", message: e.message }]).map((d) => ({
        line: "line" in d && typeof d.line === "number" ? d.line : null,
        path: d.path,
        message: d.message,
      }))
    : [{ line: null, path: "model", message: String(e) }];

/**
 * A YAML editor (CodeMirror) whose problems come from the server's own validation (`check`, run a
 * moment after typing stops), each marked at its line in the text and in the gutter.
 */
export function YamlEditor({
  value,
  onChange,
  check,
  label,
}: {
  value: string;
  onChange: (text: string) => void;
  check: (text: string) => Promise<Problem[]>;
  label: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // The latest callbacks, without rebuilding the editor.
  const latest = useRef({ onChange, check });
  latest.current = { onChange, check };
  // biome-ignore lint/correctness/useExhaustiveDependencies: the editor is built once; `value` is synced below
  useEffect(() => {
    const v = new EditorView({
      doc: value,
      parent: host.current as HTMLDivElement,
      extensions: [
        basicSetup,
        yaml(),
        lintGutter(),
        EditorView.contentAttributes.of({ "aria-label": label }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) latest.current.onChange(u.state.doc.toString());
        }),
        linter(
          async (ed): Promise<Diagnostic[]> => {
            const doc = ed.state.doc;
            const problems = await latest.current.check(doc.toString());
            return problems.map((p) => {
              const line = doc.line(Math.min(Math.max(p.line ?? 1, 1), doc.lines));
              return { from: line.from, to: line.to, severity: "error", message: `${p.path}: ${p.message}` };
            });
          },
          { delay: 400 },
        ),
      ],
    });
    // The scrolling region takes focus too, so that keyboard users can scroll it (axe).
    v.scrollDOM.tabIndex = 0;
    v.scrollDOM.setAttribute("aria-label", `${label}, scrollable`);
    view.current = v;
    return () => v.destroy();
  }, []);
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value)
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);
  return <div className="editor" ref={host} />;
}

/** Checks a draft with the server (`POST path {source}`), keeping its latest problems. */
export function useServerCheck(path: string) {
  const [problems, setProblems] = useState<Problem[]>([]);
  const check = useCallback(
    async (source: string) => {
      try {
        await api("POST", path, { source });
        setProblems([]);
        return [];
      } catch (e) {
        const p = problemsOf(e);
        setProblems(p);
        return p;
      }
    },
    [path],
  );
  return { problems, check };
}

/** The problems of a draft, each with its line. */
export function ProblemList({
  problems,
  what,
  label = "Problems",
}: {
  problems: Problem[];
  what: string;
  label?: string;
}) {
  return (
    <ul className="problems" aria-label={label}>
      {problems.map((p) => (
        <li key={`${p.line}-${p.path}-${p.message}`} className="error">
          {p.line ? `line ${p.line}` : what}: {p.path}: {p.message}
        </li>
      ))}
    </ul>
  );
}
