'use strict';
// Accessibility, measured in the browser: axe-core (injected into the Playground's page) checks
// every card a journey shows. Findings inside a card are ours and fail the journey when serious
// or critical; findings in the rest of the page are the Playground's own and are only counted,
// and so are the few inside a card that come from the Playground's card renderer whatever the
// card says (RENDERER: the same markup for every card that uses that element, not in Teams).

const fs = require('node:fs');

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const FAILING = new Set(['serious', 'critical']);
// WCAG 2.1 A and AA, and axe's best practices (headings in order, landmarks, …).
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

async function inject(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.addScriptTag({ content: AXE_SOURCE });
  }
}

// Markup of the Playground's Adaptive Card renderer (the adaptivecards JS library), the same for
// any card: an Action.ShowCard button puts aria-expanded on the <div> inside its <button>.
const RENDERER = [
  { id: 'aria-allowed-attr', html: /^<div class="ac-pushButton-content[^"]*\bexpandable\b[^"]*" aria-expanded=/ },
];

function fromRenderer(violation, node) {
  return RENDERER.some((known) => known.id === violation.id && known.html.test(node.html));
}

/** Card violations split into ours and the renderer's (node by node). */
function split(violations) {
  const ours = [];
  const renderer = [];
  for (const v of violations) {
    const mine = v.nodes.filter((n) => !fromRenderer(v, n));
    const theirs = v.nodes.filter((n) => fromRenderer(v, n));
    if (mine.length) ours.push({ ...v, nodes: mine });
    if (theirs.length) renderer.push({ ...v, nodes: theirs });
  }
  return { ours, renderer };
}

function summarise(violations) {
  return violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.length,
    where: v.nodes.slice(0, 3).map((n) => n.html.slice(0, 400)),
    why: v.nodes.slice(0, 1).map((n) => n.failureSummary),
  }));
}

/**
 * Check one card (a Playwright locator) and the page around it; returns
 * ``{ card: [...], playground: [...] }`` violation summaries.
 */
async function checkCard(page, card) {
  await inject(page);
  await card.evaluate((element) => element.setAttribute('data-axe-card', 'yes'));
  const results = await page.evaluate(
    async ({ tags }) => {
      const options = { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] };
      const inCard = await window.axe.run({ include: [['[data-axe-card="yes"]']] }, options);
      const outside = await window.axe.run({ exclude: [['.ac-adaptiveCard']] }, options);
      document.querySelector('[data-axe-card="yes"]')?.removeAttribute('data-axe-card');
      return { card: inCard.violations, playground: outside.violations };
    },
    { tags: TAGS },
  );
  const { ours, renderer } = split(results.card);
  return {
    card: summarise(ours),
    playground: summarise([...results.playground, ...renderer]),
  };
}

/** Collects every card's findings for a journey, and says which fail it. */
class AxeReport {
  constructor(log) {
    this.log = log;
    this.cards = 0;
    this.cardFindings = [];
    // rule id -> summary: the Playground's page and card renderer (the same each time)
    this.playgroundFindings = new Map();
  }

  async check(page, card, name) {
    const found = await checkCard(page, card);
    this.cards += 1;
    for (const v of found.card) this.cardFindings.push({ card: name, ...v });
    for (const v of found.playground) this.playgroundFindings.set(v.id, v);
    const failing = found.card.filter((v) => FAILING.has(v.impact));
    this.log(
      `axe: ${name}: ${found.card.length} finding(s) in the card` +
        `${failing.length ? ` (${failing.length} serious or critical)` : ''}`,
    );
    return failing;
  }

  get failing() {
    return this.cardFindings.filter((v) => FAILING.has(v.impact));
  }

  summary() {
    return {
      cards_checked: this.cards,
      card_findings: this.cardFindings.length,
      card_serious_or_critical: this.failing.length,
      playground_findings: [...this.playgroundFindings.values()].map((v) => `${v.id} (${v.impact})`),
      findings: this.cardFindings,
    };
  }
}

module.exports = { AxeReport, checkCard, FAILING };
