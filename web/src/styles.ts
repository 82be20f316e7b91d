// Themable from the host page: every colour, font and radius is a custom property with a
// default, and the main pieces carry a `part` for `::part()` rules.
export const STYLES = `
:host {
  display: block;
  font-family: var(--ordergate-font, system-ui, sans-serif);
  color: var(--ordergate-text, #1f2328);
  background: var(--ordergate-background, transparent);
  line-height: 1.5;
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
h2, h3 { line-height: 1.25; margin: 1rem 0 0.5rem; }
h2 { font-size: var(--ordergate-heading-size, 1.35rem); }
h3 { font-size: 1.05rem; }
form { display: grid; gap: 0.75rem; margin: 0.5rem 0 1rem; }
label { font-weight: 600; display: block; }
.hint { color: var(--ordergate-muted, #57606a); font-size: 0.9em; display: block; font-weight: 400; }
input, select, textarea {
  font: inherit; width: 100%; max-width: 28rem; padding: 0.5rem 0.6rem;
  border: 1px solid var(--ordergate-border, #8c959f);
  border-radius: var(--ordergate-radius, 6px);
  background: var(--ordergate-field-background, #fff); color: inherit;
}
textarea { min-height: 5rem; }
[aria-invalid="true"] { border-color: var(--ordergate-error, #b3261e); border-width: 2px; }
button {
  font: inherit; font-weight: 600; cursor: pointer; justify-self: start;
  padding: 0.55rem 1rem; border-radius: var(--ordergate-radius, 6px);
  border: 2px solid var(--ordergate-accent, #0b57d0);
  background: var(--ordergate-accent, #0b57d0); color: var(--ordergate-accent-text, #fff);
}
button.secondary { background: transparent; color: var(--ordergate-accent, #0b57d0); }
button:disabled { opacity: 0.6; cursor: not-allowed; }
:focus-visible { outline: 3px solid var(--ordergate-focus, #e8710a); outline-offset: 2px; }
[tabindex="-1"]:focus { outline: none; }
a { color: var(--ordergate-link, #0b57d0); }
.alert, .notice {
  border-left: 4px solid var(--ordergate-error, #b3261e); padding: 0.5rem 0.75rem; margin: 0.75rem 0;
  background: var(--ordergate-error-background, #fdecea);
}
.notice { border-left-color: var(--ordergate-success, #1a7f37); background: var(--ordergate-success-background, #e6f4ea); }
.alert p, .notice p { margin: 0.25rem 0; }
.alert strong, .notice strong { display: block; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0.5rem 0; }
dt { font-weight: 600; }
dd { margin: 0; }
ul.plain { list-style: none; padding: 0; margin: 0.5rem 0; }
ul.plain > li { border-top: 1px solid var(--ordergate-border-light, #d0d7de); padding: 0.5rem 0; }
section { margin: 1rem 0; }
.actions { display: flex; flex-wrap: wrap; gap: 0.5rem; }
.visually-hidden {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
`;
