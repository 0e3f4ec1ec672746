'use strict';
// Driving the Playground's page as a person would: click a chat or channel in the list, type a
// message, fill in and click an Adaptive Card, read what is on the screen, take screenshots.

const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const VIEWPORT = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 }; // a phone's width in CSS pixels
const TIMEOUT = Number(process.env.E2E_STEP_TIMEOUT_MS || 20000);

async function launchBrowser() {
  // Playwright gives each launch a new, empty profile (--user-data-dir in a temp folder).
  // No background traffic: this machine's network is closed to all but package registries.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true, // --headless
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

class Person {
  constructor(browser, playground, { shots, log }) {
    this.browser = browser;
    this.playground = playground;
    this.name = playground.name;
    this.shots = shots;
    this.log = log;
  }

  async open() {
    this.context = await this.browser.newContext({ viewport: VIEWPORT, locale: 'en-GB' });
    this.context.setDefaultTimeout(TIMEOUT);
    this.page = await this.context.newPage();
    await this.page.goto(this.playground.url);
    await this.page.getByRole('treeitem', { name: 'Personal Chat' }).waitFor();
    // The log panel is for developers; a person's screen is the chat list and the chat.
    const hide = this.page.getByRole('button', { name: 'Toggle Log Panel' });
    if (await this.page.getByText('Log Panel', { exact: true }).isVisible()) await hide.click();
    return this;
  }

  async close() {
    if (this.context) await this.context.close().catch(() => {});
  }

  /** Open the 1:1 chat with the bot. */
  async personalChat() {
    await this.page.getByRole('treeitem', { name: 'Personal Chat' }).click();
  }

  /** Open a channel of the team, e.g. "DSL". */
  async channel(name) {
    await this.page.getByRole('treeitem', { name: new RegExp(` - ${name}$`) }).click();
    await this.page.getByText('Start a new post').waitFor();
  }

  /** Type a message to the bot in the open 1:1 chat and send it. */
  async say(text) {
    const box = this.page.getByRole('textbox').last();
    await box.click();
    await box.pressSequentially(text);
    await box.press('Enter');
  }

  /** The newest card on the screen (or the newest whose text matches ``text``). */
  card(text) {
    const cards = this.page.locator('.ac-adaptiveCard');
    return text ? cards.filter({ hasText: text }).last() : cards.last();
  }

  /** Wait until ``text`` (a string or RegExp) is visible in ``where`` (default: the page). */
  async see(text, where, timeout = TIMEOUT) {
    const scope = where || this.page.locator('body');
    try {
      await scope.getByText(text).first().waitFor({ state: 'visible', timeout });
    } catch (error) {
      const shown = await this.visibleText(scope);
      throw new Error(
        `${this.name} does not see ${text} within ${timeout} ms. On the screen:\n${shown}`,
      );
    }
  }

  async visibleText(where) {
    const scope = where || this.page.locator('body');
    return (await scope.innerText().catch(() => '(nothing)')).replace(/\n{2,}/g, '\n');
  }

  async notSee(text, where) {
    const shown = await this.visibleText(where);
    if (shown.includes(text)) {
      throw new Error(`${this.name} can see "${text}", which must not be shown here:\n${shown}`);
    }
  }

  /** Click a card's button, also when the card shows it under "..." (as Teams does). */
  async click(card, name) {
    await card.getByRole('button').first().waitFor();
    const button = card.getByRole('button', { name, exact: true });
    const more = card.getByRole('button').filter({ hasText: /^\s*\.\.\.\s*$/ });
    if (!(await button.count()) && (await more.count())) {
      await more.last().click();
      await this.page.getByRole('menuitem', { name, exact: true }).click();
      return;
    }
    await button.click();
  }

  /** The names of a card's buttons, with those under "..." (the menu is opened and closed). */
  async actions(card) {
    await card.getByRole('button').first().waitFor();
    const names = (await card.getByRole('button').allInnerTexts()).map((n) => n.trim());
    const shown = names.filter((n) => n !== '...');
    if (names.includes('...')) {
      await card.getByRole('button').filter({ hasText: /^\s*\.\.\.\s*$/ }).last().click();
      const menu = this.page.getByRole('menu').last();
      shown.push(...(await menu.getByRole('menuitem').allInnerTexts()).map((n) => n.trim()));
      await this.page.keyboard.press('Escape');
      await menu.waitFor({ state: 'hidden' }).catch(() => {});
    }
    return shown;
  }

  /** Check that a card offers every button in ``wanted`` and none in ``unwanted``. */
  async offers(card, wanted, unwanted = []) {
    const actions = await this.actions(card);
    const missing = wanted.filter((n) => !actions.includes(n));
    const extra = unwanted.filter((n) => actions.includes(n));
    if (missing.length || extra.length) {
      throw new Error(
        `${this.name} sees the buttons ${JSON.stringify(actions)}: ` +
          `${missing.length ? `missing ${JSON.stringify(missing)}` : ''}` +
          `${extra.length ? ` and must not see ${JSON.stringify(extra)}` : ''}`,
      );
    }
  }

  async fill(card, label, text) {
    const box = card.getByLabel(label).first();
    await box.click();
    await box.fill(text);
  }

  /** Choose ``option`` in a drop-down (compact) or a list of radio buttons (expanded). */
  async choose(card, label, option) {
    const group = card.getByRole('radiogroup', { name: label });
    if (await group.count()) {
      await group.first().getByText(option, { exact: true }).click();
      return;
    }
    await card.getByRole('combobox', { name: label }).first().click();
    await this.page.getByRole('option', { name: option }).first().click();
  }

  /** Choose the first option of a drop-down (compact choice set) called ``label``. */
  async chooseFirst(card, label) {
    await card.getByRole('combobox', { name: label }).first().click();
    await this.page.getByRole('option').first().click();
  }

  /** In every list of radio buttons on ``card``, choose ``option`` (e.g. every checklist item
   * still open marked "Done"). */
  async tickEvery(card, option) {
    const groups = card.getByRole('radiogroup');
    for (let i = 0; i < (await groups.count()); i += 1) {
      await groups.nth(i).getByText(option, { exact: true }).click();
    }
  }

  /** Pick a day (YYYY-MM-DD) in a date field's calendar, moving month by month to it. */
  async pickDate(card, label, iso) {
    const [year, month, day] = iso.split('-').map(Number);
    const monthName = new Date(Date.UTC(year, month - 1, 1)).toLocaleString('en-GB', {
      month: 'long',
      timeZone: 'UTC',
    });
    await card.getByRole('combobox', { name: label }).first().click();
    const calendar = this.page.getByRole('dialog').last();
    const target = year * 12 + month;
    for (let i = 0; i < 36; i += 1) {
      const heading = await calendar.getByRole('button', { name: /^[A-Z][a-z]+ \d{4}$/ }).first().innerText();
      const [shownMonth, shownYear] = heading.trim().split(' ');
      const shownIndex = Number(shownYear) * 12 + monthIndex(shownMonth);
      if (shownIndex === target) break;
      await calendar.getByTitle(shownIndex < target ? /^Next month/ : /^Previous month/).click();
    }
    await calendar.getByRole('button', { name: `${day}, ${monthName}, ${year}`, exact: true }).click();
    await calendar.waitFor({ state: 'hidden' }).catch(() => {});
  }

  /** Pick a time (HH:MM) in a time field's list. */
  async setTime(card, label, hhmm) {
    const box = card.getByRole('combobox', { name: label }).first();
    await box.click();
    const [h, m] = hhmm.split(':').map(Number);
    const twelve = `${((h + 11) % 12) + 1}:${String(m).padStart(2, '0')} ${h < 12 ? 'AM' : 'PM'}`;
    await this.page
      .getByRole('option', { name: new RegExp(`^(${hhmm}|${twelve})$`) })
      .first()
      .click();
  }

  /**
   * Save what this person sees as <shots>/<name>.png (the whole 1280×800 window) and, with
   * ``chatOnly`` (a file name), the chat area alone, cropped to the card and who sent it: about
   * 600 px wide in a 1:1 chat, 950 in a channel, at most 750 high. A ``card`` is scrolled into view
   * first: centred, or its top at the top when it is taller than the chat.
   */
  async screenshot(name, card, chatOnly) {
    fs.mkdirSync(this.shots, { recursive: true });
    const file = path.join(this.shots, `${name}.png`);
    if (card) {
      await card.evaluate((element) => {
        const tall = element.getBoundingClientRect().height > 560;
        element.scrollIntoView({ block: tall ? 'start' : 'center' });
        if (tall) {
          // Show who sent it too: the line above the card.
          for (let parent = element.parentElement; parent; parent = parent.parentElement) {
            if (parent.scrollHeight > parent.clientHeight + 1) {
              parent.scrollTop -= 56;
              break;
            }
          }
        }
      });
    }
    await this.page.waitForTimeout(300); // let the card's own layout settle
    await this.page.screenshot({ path: file });
    this.log(`screenshot ${path.relative(process.cwd(), file)}`);
    if (chatOnly) {
      const nav = await this.page.getByRole('region', { name: 'Chat and Teams Channel' }).boundingBox();
      const header = await this.page.getByRole('toolbar').first().boundingBox();
      const x = nav ? Math.ceil(nav.x + nav.width) : 0;
      const y = header ? Math.ceil(header.y + header.height) : 0;
      let [right, top, bottom] = [VIEWPORT.width, y, VIEWPORT.height];
      const inChannel = await this.page.getByText('Start a new post').isVisible();
      const box = card ? await card.boundingBox() : null;
      if (box) {
        // The card with the line above it (who sent it, when) and a margin.
        if (!inChannel) right = Math.min(right, Math.ceil(box.x + box.width + 72));
        top = Math.max(top, Math.floor(box.y - (inChannel ? 74 : 54)));
        bottom = Math.min(bottom, Math.ceil(box.y + box.height + 40));
      }
      if (!inChannel) {
        const input = await this.page.getByRole('textbox').last().boundingBox();
        if (input) bottom = Math.min(bottom, Math.floor(input.y - 12)); // not the message box
      }
      const clip = { x, y: top, width: right - x, height: bottom - top };
      await this.page.screenshot({ path: chatOnly, clip });
    }
    return file;
  }

  /**
   * Save ``card`` alone as it shows at a phone's width (375 px wide window) to
   * <shots>/<name>.png and, if given, ``docsFile``; the window is put back afterwards.
   */
  async phoneScreenshot(name, card, docsFile) {
    fs.mkdirSync(this.shots, { recursive: true });
    const file = path.join(this.shots, `${name}.png`);
    await this.page.setViewportSize(PHONE);
    // The Playground's page keeps a desktop layout at this width, so the card itself is held to
    // the width Teams on a phone gives it (the screen less 8 px margins each side).
    const width = `${PHONE.width - 16}px`;
    const before = await card.evaluate((element, w) => {
      const old = element.getAttribute('style');
      element.style.width = w;
      element.style.maxWidth = w;
      return old;
    }, width);
    try {
      await card.scrollIntoViewIfNeeded();
      await this.page.waitForTimeout(400); // let the card reflow
      await card.screenshot({ path: file });
      if (docsFile) fs.copyFileSync(file, docsFile);
      this.log(`screenshot ${path.relative(process.cwd(), file)} (phone width)`);
    } finally {
      await card.evaluate((element, old) => {
        if (old === null) element.removeAttribute('style');
        else element.setAttribute('style', old);
      }, before);
      await this.page.setViewportSize(VIEWPORT);
    }
    return file;
  }
}

function monthIndex(name) {
  const months = [
    'January', 'February', 'March', 'April', 'May', 'June',
    'July', 'August', 'September', 'October', 'November', 'December',
  ];
  const index = months.indexOf(name);
  if (index < 0) throw new Error(`not a month: ${name}`);
  return index + 1;
}

module.exports = { launchBrowser, Person, VIEWPORT };
