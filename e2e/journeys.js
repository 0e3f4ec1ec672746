#!/usr/bin/env node
'use strict';
// The end-to-end journeys: people of the demo school use the bot in the Microsoft 365 Agents
// Playground (Microsoft's Teams-like client and emulated Bot Connector) in headless Chromium,
// by typing and clicking, and each step checks what is on their screen.
//
//   node journeys.js <journey> --bot http://127.0.0.1:3978/api/messages [--shots DIR] [--docs DIR]
//
// Journeys: concern, worry, filter, videocall, typed, reportmessage, closure, pupilmessage,
// overblock, fmcheck. The bot must already be
// running (the pytest side, tests/playground, starts it in local mode with an empty data folder). This starts the
// Playgrounds, the router between them (lib/router.js) and Chromium, and stops them all at the
// end, also on failure or SIGTERM. Exit status 0 when every step passed; the last line is
// "E2E-RESULT {json}" with each step's time.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Playground, REPO } = require('./lib/playground');
const { Router } = require('./lib/router');
const { AxeReport } = require('./lib/axe');
const { launchBrowser, Person } = require('./lib/ui');

const ZONE = 'Europe/London'; // the demo school's time zone (config/school.toml)

/** A date in the school's time zone, ``days`` from today, as YYYY-MM-DD. */
function schoolDay(days = 0) {
  const when = new Date(Date.now() + days * 86400000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: ZONE }).format(when);
}

/** The first Saturday at least a week ahead, as YYYY-MM-DD (a planned call is in the future). */
function nextSaturday() {
  for (let days = 7; days < 14; days += 1) {
    const iso = schoolDay(days);
    if (new Date(`${iso}T12:00:00Z`).getUTCDay() === 6) return iso;
  }
  throw new Error('no Saturday found');
}

/** "Sat 28 Nov 2026", as the bot writes a day (cards.common.school_day). */
function longDay(iso) {
  const day = new Date(`${iso}T12:00:00Z`);
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][day.getUTCDay()];
  const month = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ')[day.getUTCMonth()];
  return `${weekday} ${day.getUTCDate()} ${month} ${day.getUTCFullYear()}`;
}

// ----- the journeys --------------------------------------------------------------------------

const CHILD = 'Ava Thompson';
const NICKNAME = 'jake_k77'; // in the story only: the DSL channel must not show it
const STORY = `Messages late at night from "${NICKNAME}" asking her to meet at the bus station.`;

const JOURNEYS = {
  /** 1. A teacher reports a concern and sees the reference; the DSL channel shows the card
   * without the child's name; the DSL acknowledges it and the card changes for everyone. */
  async concern(j) {
    const dsl = await j.person('Fiona Blake', 'DSL');
    const deputy = await j.person('Tom Hughes', 'DSL');
    const teacher = await j.person('Daniel Okafor');
    let ref;

    await j.step('the teacher opens the chat and sees the staff menu', async () => {
      await teacher.personalChat();
      await teacher.see('Hello Daniel. What do you need to do?');
      await teacher.offers(teacher.card(), ['Report a concern', 'Request a filter change'], ['Open items']);
      await j.shot(teacher, 'welcome-teacher', { docs: 'welcome-teacher', card: teacher.card() });
    });

    await j.step('the DSL opens the chat and sees the DSL menu', async () => {
      await dsl.personalChat();
      const menu = dsl.card('Hello Fiona');
      await dsl.offers(menu, ['Report a concern', 'Open items', 'Incident log']);
      await j.shot(dsl, 'welcome-dsl', { docs: 'welcome-dsl', card: menu });
    });

    await j.step('the teacher types "report a concern" and picks cyberbullying', async () => {
      await teacher.say('report a concern');
      const picker = teacher.card('Report an online-safety concern');
      await teacher.see('What is it about?', picker);
      await teacher.choose(picker, 'What is it about?', 'Conduct: Cyberbullying');
      await teacher.click(picker, 'Next');
      await teacher.see('Report: Cyberbullying', teacher.card('Report: Cyberbullying'));
    });

    await j.step('the teacher fills in the form and sends it to the DSL', async () => {
      const form = teacher.card('Report: Cyberbullying');
      await teacher.choose(form, 'Is a child at immediate risk?', 'No');
      await teacher.fill(form, 'Who is involved?', `${CHILD} (8B)`);
      await teacher.choose(form, 'Year group', 'Year 8');
      await teacher.fill(form, 'What happened?', STORY);
      await teacher.fill(form, 'Where?', 'Snapchat');
      await teacher.pickDate(form, 'When did it happen', schoolDay(-1));
      await teacher.fill(form, 'What has been done already?', 'Phone kept in the office.');
      await j.shot(teacher, 'concern-form', { docs: 'concern-form', card: form });
      await teacher.click(form, 'Send to the DSL');
      const received = teacher.card('Received:');
      await teacher.see(/Received: OSC-\d{4}-\d{4}/, received);
      ref = (await received.innerText()).match(/OSC-\d{4}-\d{4}/)[0];
      await teacher.see('What happens next', received);
      await j.shot(teacher, 'concern-reference', { card: received });
    });

    await j.step('the DSL channel shows the card, without the child\'s name', async () => {
      await dsl.channel('DSL');
      const card = dsl.card(ref);
      await dsl.see(`Concern ${ref}`, card);
      await dsl.see('Cyberbullying', card);
      await dsl.see('Nobody yet', card);
      await dsl.notSee(CHILD);
      await dsl.notSee('Thompson');
      await dsl.notSee(NICKNAME);
      await dsl.notSee('Snapchat');
      // Greeted once, for everyone: no "Hello Fiona" / "Hello Tom" per install or member.
      await dsl.notSee('Hello Fiona');
      await dsl.notSee('Hello Tom');
      const greetings = await dsl.page.locator('.ac-adaptiveCard').filter({ hasText: 'Online safety at' }).count();
      if (greetings > 1) throw new Error(`the DSL channel shows ${greetings} greetings, not one`);
      await j.shot(dsl, 'dsl-channel-card', { docs: 'dsl-channel-card', card });
    });

    await j.step('the DSL acknowledges it; the card changes for everyone', async () => {
      await deputy.channel('DSL');
      const before = deputy.card(ref);
      await deputy.see('Nobody yet', before);
      await dsl.click(dsl.card(ref), 'Acknowledge');
      await dsl.see('Fiona Blake', dsl.card(ref));
      // The deputy DSL, who clicked nothing, sees the same post change on their screen.
      const after = deputy.card(ref);
      await deputy.see('Fiona Blake', after);
      await deputy.notSee(CHILD);
      if (await after.getByRole('button', { name: 'Acknowledge', exact: true }).count()) {
        throw new Error('the deputy still sees an Acknowledge button on an acknowledged concern');
      }
      await j.shot(dsl, 'dsl-acknowledged', { card: dsl.card(ref) });
      await j.shot(deputy, 'deputy-sees-acknowledged', { docs: 'dsl-channel-acknowledged', card: after });
    });

    await j.step('the DSL opens the detail, for her eyes only, with a way to close it', async () => {
      await dsl.click(dsl.card(ref), 'Open');
      const detail = dsl.card('Close details');
      await dsl.see(CHILD, detail);
      await dsl.see('When it happened', detail);
      await dsl.offers(detail, ['Close details', 'Record an action', 'Add note', 'Close']);
      await deputy.notSee(CHILD);
      await j.shot(dsl, 'dsl-detail', { docs: 'dsl-detail', card: detail });
      await dsl.click(detail, 'Close details');
      await dsl.see('Fiona Blake', dsl.card(ref));
      await dsl.notSee(CHILD);
    });
  },

  /** 2. A pupil reports a worry, answers "not sure" to being safe, and sees the signposting. */
  async worry(j) {
    const pupil = await j.person('Ava Thompson');

    await j.step('the pupil opens the chat and sees the pupil menu', async () => {
      await pupil.personalChat();
      const menu = pupil.card();
      await pupil.see('Tell us about a worry', menu);
      await pupil.offers(menu, ['Tell us about a worry', 'Get help'], ['Report a concern']);
      await j.shot(pupil, 'welcome-pupil', { docs: 'welcome-pupil', card: menu });
    });

    await j.step('the pupil fills in the worry card, "not sure" if safe', async () => {
      await pupil.click(pupil.card(), 'Tell us about a worry');
      const form = pupil.card('What kind of thing happened?');
      await pupil.see('Are you safe right now?', form);
      await pupil.choose(form, 'What kind of thing happened?', '😢 Someone was mean to me online');
      await pupil.fill(form, 'Tell us what happened', 'People in my class group chat keep calling me names.');
      await pupil.choose(form, 'Are you safe right now?', 'Not sure');
      await pupil.fill(form, 'Who would you like to talk to?', 'Mr Okafor');
      await j.shot(pupil, 'pupil-card', { docs: 'pupil-card', card: form });
      await pupil.click(form, 'Send');
    });

    await j.step('the pupil sees thanks and where to get help', async () => {
      const sent = pupil.card('Thank you for telling us');
      await pupil.see('Thank you for telling us', sent);
      await pupil.see('You said you are not sure if you are safe.', sent);
      await pupil.see(/call 999/i, sent);
      await pupil.see('Childline is free. Call 0800 1111', sent);
      await j.shot(pupil, 'pupil-signposting', {
        docs: 'pupil-signposting', card: sent, phone: 'pupil-signposting-phone',
      });
    });
  },

  /** 3. A teacher requests a filter exception; IT approves in the IT channel; the teacher is told. */
  async filter(j) {
    const it = await j.person('Nadia Khan', 'IT');
    const teacher = await j.person('Daniel Okafor');
    const site = 'www.physics-sims.example/orbits';
    const from = schoolDay(0);
    const until = schoolDay(4);
    let ref;

    await j.step('IT opens the chat and sees the IT menu', async () => {
      await it.personalChat();
      const menu = it.card('Hello Nadia');
      await it.offers(menu, ['Request a filter change', 'Filter log'], ['Incident log', 'Open items']);
      await j.shot(it, 'welcome-it', { docs: 'welcome-it', card: menu });
    });

    await j.step('the teacher asks for a site to be allowed', async () => {
      await teacher.personalChat();
      await teacher.click(teacher.card('Hello Daniel'), 'Request a filter change');
      const form = teacher.card('Request a web-filter change');
      await teacher.see('Educational reason', form);
      await teacher.fill(form, 'Site', site);
      await teacher.choose(form, 'What does the filter say it is?', 'Games');
      await teacher.choose(form, 'Who needs access?', 'A class');
      await teacher.fill(form, 'Which class, year group or pupils?', '10B');
      await teacher.fill(form, 'Educational reason', 'Pupils test the orbit simulation game we built in Computing.');
      await teacher.fill(form, 'Lesson or topic', 'Computing: simulations');
      await teacher.pickDate(form, 'From', from);
      await teacher.pickDate(form, 'Until', until);
      await teacher.choose(form, 'Will the pupils be supervised while using it?', 'Yes');
      await teacher.choose(form, 'Is the content appropriate for their age?', 'Yes');
      await j.shot(teacher, 'filter-form', { card: form });
      await teacher.click(form, 'Send to IT');
      const sent = teacher.card('Sent:');
      await teacher.see(/Sent: FLT-\d{4}-\d{4}/, sent);
      ref = (await sent.innerText()).match(/FLT-\d{4}-\d{4}/)[0];
      await j.shot(teacher, 'filter-sent', { card: sent });
    });

    await j.step('IT sees the request in the IT channel and approves it', async () => {
      await it.channel('IT');
      const card = it.card(ref);
      await it.see(`Filter request ${ref}`, card);
      await it.see('www.physics-sims.example', card);
      await j.shot(it, 'it-channel-request', { docs: 'it-channel-request', card });
      await it.click(card, 'Approve');
      await it.see(/Approved/, it.card(ref));
      await j.shot(it, 'it-approved', { card: it.card(ref) });
    });

    await j.step('the teacher is told in their chat', async () => {
      const news = teacher.card(`Approved: ${ref}`);
      await teacher.see(`Approved: ${ref}`, news, 30000);
      await teacher.see(site, news);
      await teacher.see('class 10B', news);
      await j.shot(teacher, 'filter-teacher-told', { docs: 'filter-teacher-told', card: news });
    });
  },

  /** 4. A teacher checks a Saturday lesson and sees "Not allowed" with the reason. */
  async videocall(j) {
    const teacher = await j.person('Daniel Okafor');
    const saturday = nextSaturday();

    await j.step('the teacher opens the video-call check', async () => {
      await teacher.personalChat();
      await teacher.click(teacher.card('Hello Daniel'), 'Check a video call');
      await teacher.see('Check a video call', teacher.card('Date of the call'));
    });

    await j.step('the teacher plans a Saturday lesson and checks it', async () => {
      const form = teacher.card('Date of the call');
      await teacher.pickDate(form, 'Date of the call', saturday);
      await teacher.setTime(form, 'Start time', '10:00');
      await teacher.choose(form, 'What is the call for?', 'A lesson or staff meeting');
      await teacher.choose(form, 'Who is it with?', 'A class');
      await j.shot(teacher, 'videocall-form', { card: form });
      await teacher.click(form, 'Check this call');
    });

    await j.step('the teacher sees "Not allowed" and why', async () => {
      const verdict = teacher.card('Not allowed');
      await teacher.see('⛔ Not allowed', verdict);
      await teacher.see(`${longDay(saturday)} is not a school day`, verdict);
      await teacher.see(/Show the \d+ rules that passed/, verdict);
      await j.shot(teacher, 'videocall-verdict', {
        docs: 'videocall-verdict', card: verdict, phone: 'videocall-verdict-phone',
      });
    });
  },

  /** 5. Nothing typed is ignored (issue 18): a pupil's typed disclosure reaches the DSL channel
   * as an URGENT pupil report and she sees the help links; "I am safe now thanks" does not; a
   * teacher's typed account is offered as a concern, prefilled. */
  async typed(j) {
    const dsl = await j.person('Fiona Blake', 'DSL');
    const pupil = await j.person('Ava Thompson');
    const other = await j.person('Leo Martin');
    const teacher = await j.person('Daniel Okafor');

    await j.step('the pupil types that she does not feel safe and is told who has it', async () => {
      await pupil.personalChat();
      await pupil.say('someone online keeps messaging me and i dont feel safe');
      const told = pupil.card('Thank you for telling me');
      await pupil.see('They have it now.', told);
      await pupil.see('Get help now', told);
      await pupil.see('Childline is free. Call 0800 1111', told);
      await pupil.see('Call Childline 0800 1111', told);
      await pupil.offers(told, ['See my reports']);
      await j.shot(pupil, 'typed-disclosure', { docs: 'typed-disclosure', card: told });
    });

    await j.step('the DSL channel shows an URGENT pupil report without her name or words', async () => {
      await dsl.channel('DSL');
      const card = dsl.card('URGENT: Pupil report');
      await dsl.see(/URGENT: Pupil report OSC-\d{4}-\d{4}/, card, 30000);
      await dsl.notSee('Ava');
      await dsl.notSee('keeps messaging');
      await j.shot(dsl, 'typed-dsl-channel', { card });
    });

    await j.step('another pupil\'s "I am safe now thanks" makes no report: a warm reply with help', async () => {
      await other.personalChat();
      await other.say('I am safe now thanks');
      const reply = other.card('Thanks for your message');
      await other.see('Get help now', reply);
      await other.offers(reply, ['Send this to a trusted adult']);
      await j.shot(other, 'typed-safe', { docs: 'typed-safe', card: reply });
    });

    await j.step('a teacher types what a pupil told him and is offered a prefilled concern', async () => {
      await teacher.personalChat();
      await teacher.say('Year 9 pupil told me an older boy online has been asking her for photos');
      const offer = teacher.card('Do you want to report this as a concern?');
      await teacher.see('If a child is in immediate danger, call 999', offer);
      await teacher.offers(offer, ['Report this as a concern', 'No, show the menu']);
      await teacher.choose(offer, 'What is it about?', 'Contact: Online sexual abuse, exploitation or grooming');
      await j.shot(teacher, 'typed-staff-offer', { docs: 'typed-staff-offer', card: offer });
      await teacher.click(offer, 'Report this as a concern');
      const form = teacher.card('Report: ');
      await teacher.see('Who is involved?', form);
      const box = form.getByLabel('What happened?').first();
      const value = await box.inputValue();
      if (!value.includes('asking her for photos')) throw new Error(`the form was not prefilled: ${value}`);
      await j.shot(teacher, 'typed-staff-form', { card: form });
    });
  },

  /** 6. "Report this message" (issue 18): a teacher uses the message action on a message; the
   * dialog shows the message and the imagery rule; the concern form comes prefilled; Send makes
   * a concern that reaches the DSL channel and a confirmation in the teacher's private chat. */
  async reportmessage(j) {
    const dsl = await j.person('Fiona Blake', 'DSL');
    const teacher = await j.person('Daniel Okafor');
    const words = 'A pupil sent this: meet me after school and dont tell anyone';

    await j.step('the teacher uses "Report this message" on a message', async () => {
      await teacher.personalChat();
      await teacher.say(words);
      await teacher.see('Do you want to report this as a concern?');
      const page = teacher.page;
      // The message's own "..." is the nearest one above its text.
      const message = page.getByText(words, { exact: true }).first();
      await message.hover();
      const at = (await message.boundingBox()).y;
      const menus = page.getByRole('button', { name: 'Show more information' });
      let nearest = null;
      for (let i = 0; i < (await menus.count()); i += 1) {
        const box = await menus.nth(i).boundingBox();
        if (box && box.y <= at && (!nearest || box.y > nearest.y)) nearest = { y: box.y, i };
      }
      if (!nearest) throw new Error('no "..." above the message');
      await menus.nth(nearest.i).click();
      // The Playground asks for the manifest's command id (Teams shows the command's title).
      await page.getByRole('menuitem', { name: 'Action Command' }).click();
      await page.getByPlaceholder('Input command id or leave blanks').fill('reportMessage');
      await page.getByRole('button', { name: 'Create' }).click();
      const first = teacher.card('Pictures and files in the message are not saved');
      await teacher.see('Pictures and files in the message are not saved or shown here.', first);
      await teacher.see(words, first);
      await j.shot(teacher, 'reportmessage-dialog', { card: first }); // a dialog: no chat-only picture
    });

    let ref;
    await j.step('the concern form comes prefilled; Send makes a concern', async () => {
      const first = teacher.card('Pictures and files in the message are not saved');
      await teacher.choose(first, 'What is it about?', 'Contact: Online sexual abuse, exploitation or grooming');
      await teacher.click(first, 'Next');
      const form = teacher.card('Report: Online sexual abuse');
      await teacher.see('Who is involved?', form);
      const what = await form.getByLabel('What happened?').first().inputValue();
      if (!what.includes(words) || !what.includes('A message in Teams from Daniel Okafor')) {
        throw new Error(`the form was not prefilled with the message: ${what}`);
      }
      await teacher.choose(form, 'Is a child at immediate risk?', 'No');
      await teacher.fill(form, 'Who is involved?', 'A Year 8 pupil (name to follow)');
      await teacher.choose(form, 'Year group', 'Year 8');
      await j.shot(teacher, 'reportmessage-form', { card: form });
      await teacher.click(form, 'Send to the DSL');
      // The dialog closes on "Received: OSC-..." (tests/e2e/test_message_action_over_http.py
      // checks its words); the full confirmation goes to the private chat. The Playground blanks
      // an open dialog when a chat message arrives, so the check here is the private chat's.
      const received = teacher.card('Received:');
      await teacher.see(/Received: OSC-\d{4}-\d{4}/, received);
      ref = (await received.innerText()).match(/OSC-\d{4}-\d{4}/)[0];
      await j.shot(teacher, 'reportmessage-received', { card: received });
    });

    await j.step('the DSL channel shows the concern, without the message', async () => {
      await dsl.channel('DSL');
      const card = dsl.card(ref);
      await dsl.see(`URGENT: Concern ${ref}`, card, 30000);
      await dsl.notSee('meet me after school');
      await j.shot(dsl, 'reportmessage-dsl-channel', { card });
    });
  },

  /** 7. Closing safely (issue 20): a grooming concern is serious, so the DSL only proposes its
   * closure; the channel card says so; the deputy DSL, a second senior person, confirms it. */
  async closure(j) {
    const dsl = await j.person('Fiona Blake', 'DSL');
    const deputy = await j.person('Tom Hughes', 'DSL');
    const teacher = await j.person('Daniel Okafor');
    let ref;

    await j.step('a teacher reports a grooming concern', async () => {
      await teacher.personalChat();
      await teacher.say('report a concern');
      const picker = teacher.card('Report an online-safety concern');
      await teacher.choose(picker, 'What is it about?', 'Contact: Online sexual abuse, exploitation or grooming');
      await teacher.click(picker, 'Next');
      const form = teacher.card('Report: Online sexual abuse');
      await teacher.see('Who is involved?', form);
      await teacher.choose(form, 'Is a child at immediate risk?', 'No');
      await teacher.fill(form, 'Who is involved?', `${CHILD} (8B)`);
      await teacher.choose(form, 'Year group', 'Year 8');
      await teacher.fill(form, 'What happened?', STORY);
      await teacher.fill(form, 'Where?', 'Snapchat');
      await teacher.pickDate(form, 'When did it happen', schoolDay(-1));
      await teacher.click(form, 'Send to the DSL');
      const received = teacher.card('Received:');
      await teacher.see(/Received: OSC-\d{4}-\d{4}/, received);
      ref = (await received.innerText()).match(/OSC-\d{4}-\d{4}/)[0];
    });

    await j.step('the DSL opens it and proposes closing it: it needs a second person', async () => {
      await dsl.channel('DSL');
      await dsl.see(ref, dsl.card(ref), 30000);
      await dsl.click(dsl.card(ref), 'Open');
      const detail = dsl.card('Close details');
      await dsl.offers(detail, ['Propose closure'], ['Close', 'Confirm closure']);
      await dsl.click(detail, 'Propose closure');
      await dsl.see('needs a second senior person', detail);
      await dsl.chooseFirst(detail, 'Outcome');
      await dsl.fill(detail, 'Reason for closing (kept in the record)', 'Referred to the police; parents told; the account is blocked.');
      await dsl.fill(detail, 'Message for the person who reported it (no details)', 'Thank you. This has been dealt with.');
      await dsl.tickEvery(detail, 'Done');
      await j.shot(dsl, 'closure-propose-form', { card: detail });
      const submit = detail.getByRole('button', { name: 'Propose closure', exact: true }).last();
      await submit.click();
      await dsl.see('Closure proposed by Fiona Blake', dsl.card(ref));
      await j.shot(dsl, 'closure-proposed', { card: dsl.card(ref) });
    });

    await j.step('the deputy DSL sees "Closure proposed by" and confirms it', async () => {
      await deputy.channel('DSL');
      const card = deputy.card(ref);
      await deputy.see('Closure proposed by Fiona Blake', card, 30000);
      await j.shot(deputy, 'closure-deputy-sees', { docs: 'closure-proposed', card });
      await deputy.click(card, 'Open');
      const detail = deputy.card('Close details');
      await deputy.see('A second senior person confirms it', detail);
      await deputy.offers(detail, ['Confirm closure', 'Send back']);
      await j.shot(deputy, 'closure-confirm', { card: detail });
      await deputy.click(detail, 'Confirm closure');
      await deputy.see(/Closed/, deputy.card(ref));
      await deputy.notSee('Closure proposed by', deputy.card(ref));
      await j.shot(deputy, 'closure-confirmed', { docs: 'closure-confirmed', card: deputy.card(ref) });
    });

    await j.step('the teacher who reported it is told the outcome', async () => {
      const told = teacher.card(ref);
      await teacher.see('Thank you. This has been dealt with.', teacher.card('This has been dealt with'), 30000);
      await j.shot(teacher, 'closure-teacher-told', { card: told });
    });
  },

  /** 8. Feedback to the pupil (issue 20, 004 §2): the DSL sends the pupil who reported a
   * ready-made message and one open question; the pupil answers in words; the DSL is told. */
  async pupilmessage(j) {
    const dsl = await j.person('Fiona Blake', 'DSL');
    const pupil = await j.person('Ava Thompson');
    const answer = 'It was in the group chat for our class.';
    let ref;

    await j.step('a pupil tells us about a worry', async () => {
      await pupil.personalChat();
      await pupil.click(pupil.card(), 'Tell us about a worry');
      const form = pupil.card('What kind of thing happened?');
      await pupil.see('Are you safe right now?', form);
      await pupil.choose(form, 'What kind of thing happened?', '😢 Someone was mean to me online');
      await pupil.fill(form, 'Tell us what happened', 'People in my class group chat keep calling me names.');
      await pupil.choose(form, 'Are you safe right now?', 'Yes');
      await pupil.click(form, 'Send');
      await pupil.see('Thank you for telling us', pupil.card('Thank you for telling us'));
    });

    await j.step('the DSL opens the report and sends the pupil a ready-made message', async () => {
      await dsl.channel('DSL');
      const card = dsl.card('Pupil report');
      await dsl.see(/Pupil report OSC-\d{4}-\d{4}/, card, 30000);
      ref = (await card.innerText()).match(/OSC-\d{4}-\d{4}/)[0];
      await dsl.click(dsl.card(ref), 'Open');
      await dsl.click(dsl.card('Close details'), 'Message the pupil');
      const form = dsl.card(`Message the pupil: ${ref}`);
      await dsl.see('Never ask for pictures.', form);
      await dsl.click(form, 'Send a message');
      await dsl.fill(form, 'The name to use for [name]', 'Mrs Blake');
      await j.shot(dsl, 'pupilmessage-dsl-form', { docs: 'pupilmessage-dsl-form', card: form });
      await dsl.click(form, 'Send to the pupil');
      // Sending acknowledges the report, so the outbox also changes its channel card for everyone.
      // Whether her screen then shows the form's answer or the changed channel card depends on
      // which reaches the Playground first (it does not honour per-user refresh); either names her.
      await dsl.see('Fiona Blake', dsl.card(ref), 30000);
    });

    await j.step('the pupil gets the message in her chat', async () => {
      const message = pupil.card('A message from school');
      await pupil.see('A message from school', message, 30000);
      await pupil.see('Mrs Blake', message);
      await j.shot(pupil, 'pupilmessage-message', { docs: 'pupilmessage-pupil-message', card: message });
    });

    await j.step('the DSL asks one open question', async () => {
      // "Delivered" comes after the channel card's change: nothing more changes her screen now.
      await dsl.personalChat();
      await dsl.see(`Delivered: your message to the pupil who made ${ref}`, undefined, 30000);
      await dsl.channel('DSL');
      await dsl.see(ref, dsl.card(ref), 30000);
      const form = dsl.card(`Message the pupil: ${ref}`);
      if (!(await form.count())) {
        await dsl.click(dsl.card(`Pupil report ${ref}`), 'Open');
        await dsl.click(dsl.card('Close details'), 'Message the pupil');
      }
      await dsl.see('Sent so far', form);
      await dsl.see(/Message from Fiona Blake, .*: (Delivered|Queued|Waiting)/i, form);
      await dsl.click(form, 'Ask a question');
      await dsl.fill(form, 'One open question (not a leading one)', 'Can you tell me where this happened?');
      await dsl.click(form, 'Ask the pupil');
      // As above, the form's answer or the changed channel card (the pupil's chat, next, shows the
      // question arrived; tests/dialogs checks "waiting for the pupil's answer").
      await dsl.see('Fiona Blake', dsl.card(ref), 30000);
    });

    await j.step('the pupil answers in words and is thanked', async () => {
      const question = pupil.card('A question from school');
      await pupil.see('Can you tell me where this happened?', question, 30000);
      await pupil.see("Please don't send pictures.", question);
      await pupil.fill(question, 'Your answer', answer);
      await j.shot(pupil, 'pupilmessage-question', { docs: 'pupilmessage-pupil-question', card: question });
      await pupil.click(question, 'Send my answer');
      const thanks = pupil.card('Your answer has been sent.');
      await pupil.see('An adult will read it.', thanks);
      await j.shot(pupil, 'pupilmessage-thanks', { card: thanks });
    });

    await j.step('the DSL is told the pupil answered; the answer is behind Open only', async () => {
      await dsl.personalChat();
      const told = dsl.card('The pupil answered your question');
      await dsl.see(`The pupil answered your question on ${ref}`, told, 30000);
      await dsl.notSee(answer, told);
      await j.shot(dsl, 'pupilmessage-dsl-told', { card: told });
      await dsl.channel('DSL');
      await dsl.notSee(answer);
    });
  },

  /** 9. Over-blocking (issue 21): a teacher reports a blocked site that got in the way of a
   * lesson; IT explains in the IT channel why it stays blocked; the teacher is told why. */
  async overblock(j) {
    const it = await j.person('Nadia Khan', 'IT');
    const teacher = await j.person('Daniel Okafor');
    const site = 'www.history-archive.example/ww2-propaganda';
    let ref;

    await j.step('the teacher reports a blocked site from the menu', async () => {
      await teacher.personalChat();
      await teacher.click(teacher.card('Hello Daniel'), 'Blocked but I need it');
      const form = teacher.card('Blocked but I need it for teaching');
      await teacher.fill(form, 'The blocked site (web address)', site);
      await teacher.fill(form, 'The lesson or topic', 'Year 9 History: propaganda in WW2');
      await teacher.fill(form, 'How did the block get in the way?', 'The posters we analyse in class would not load.');
      await j.shot(teacher, 'overblock-form', { docs: 'overblock-form', card: form });
      await teacher.click(form, 'Send to IT');
      const sent = teacher.card('Sent to IT:');
      await teacher.see(/Sent to IT: \S+/, sent);
      ref = (await sent.innerText()).match(/Sent to IT: (\S+)/)[1];
      await j.shot(teacher, 'overblock-sent', { card: sent });
    });

    await j.step('IT sees the report in the IT channel and explains', async () => {
      await it.channel('IT');
      const card = it.card(ref);
      await it.see(`Blocked but needed for teaching: ${ref}`, card, 30000);
      await it.offers(card, ['Request an exception from this', 'Not needed / explained']);
      await j.shot(it, 'overblock-it-card', { docs: 'overblock-it-card', card });
      await it.click(card, 'Not needed / explained');
      await it.fill(card, 'Why (the teacher is told)', 'The posters are on the school library site, which is not blocked.');
      await it.click(card, 'Send the explanation');
      await it.see(/No change: explained by Nadia Khan/, it.card(ref));
    });

    await j.step('the teacher is told what IT decided and why', async () => {
      const news = teacher.card(`IT answered your report: ${ref}`);
      await teacher.see(`IT answered your report: ${ref}`, news, 30000);
      await teacher.see('school library site', news);
      await j.shot(teacher, 'overblock-teacher-told', { docs: 'overblock-teacher-told', card: news });
    });
  },

  /** 10. Recording a filtering and monitoring check (issue 21): IT types "filtering check",
   * records one problem, and the IT channel gets the record with it. */
  async fmcheck(j) {
    const it = await j.person('Nadia Khan', 'IT');

    await j.step('IT types "filtering check" and records what they found', async () => {
      await it.personalChat();
      await it.say('filtering check');
      const form = it.card('Record a filtering and monitoring check');
      await it.see('Day of the check', form);
      // The eight standard items (policy/fm_checks.py STANDARD_ITEMS): one problem found.
      const items = [
        'Test sites are blocked',
        'The IWF and police (CTIRU) lists are applied by the provider',
        'Monitoring raises alerts and they reach the DSL',
        'Every school device and network is covered',
        'Apps and other non-browser services are filtered',
        "Block lists still match the school's safeguarding risks",
        'Filtering does not get in the way of teaching',
        'Staff know how to report a concern or a blocked site',
      ];
      for (const item of items) {
        await it.choose(form, item, item.startsWith('Every school device') ? 'Problem found' : 'Working');
      }
      await it.fill(form, 'What was wrong (if anything)', 'The guest Wi-Fi was not filtered.');
      await it.fill(form, 'What is being done about it, and by whom', 'Nadia Khan moves it behind the filter by Friday.');
      await j.shot(it, 'fmcheck-form', { card: form });
      await it.click(form, 'Record the check');
      const done = it.card('Check recorded');
      await it.see(/Check recorded \(\S+\)/, done);
      await it.see('7 of 8', done);
      await j.shot(it, 'fmcheck-recorded', { docs: 'fmcheck-recorded', card: done });
    });

    await j.step('the IT channel has the check and the problem found', async () => {
      await it.channel('IT');
      const note = it.card('problems found');
      await it.see(/Filtering and monitoring check \S+: problems found/, note, 30000);
      await it.see('The guest Wi-Fi was not filtered.', note);
      await j.shot(it, 'fmcheck-channel', { card: note });
    });
  },
};

// ----- running one journey -------------------------------------------------------------------

function parseArgs(argv) {
  const args = { journey: argv[0] };
  for (let i = 1; i < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = argv[i + 1];
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!JOURNEYS[args.journey] || !args.bot) {
    process.stderr.write(
      `usage: journeys.js <${Object.keys(JOURNEYS).join('|')}> --bot URL [--shots DIR] [--docs DIR]\n`,
    );
    return 2;
  }
  const started = Date.now();
  const log = (line) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
  const shots = path.resolve(args.shots || path.join(REPO, 'build', 'e2e'));
  const docs = args.docs ? path.resolve(args.docs) : null;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `e2e-${args.journey}-`));
  const router = await new Router(log).start();
  const playgrounds = [];
  const people = [];
  let browser = null;
  const steps = [];
  let failure = null;
  const axe = new AxeReport(log);

  const cleanup = async () => {
    for (const person of people) await person.close();
    if (browser) await browser.close().catch(() => {});
    browser = null;
    for (const playground of playgrounds) await playground.stop();
    await router.stop();
  };
  const onSignal = (signal) => {
    log(`${signal}: stopping`);
    cleanup().finally(() => {
      fs.rmSync(work, { recursive: true, force: true });
      process.exit(1);
    });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  const j = {
    async person(name, channel) {
      const playground = new Playground({ name, channel, botEndpoint: args.bot, router, workRoot: work, log });
      playgrounds.push(playground);
      await playground.start();
      browser = browser || (await launchBrowser());
      const person = new Person(browser, playground, { shots, log });
      people.push(person);
      return person.open();
    },
    async step(name, run) {
      const t0 = Date.now();
      log(`step: ${name}`);
      try {
        await run();
      } catch (error) {
        steps.push({ step: name, seconds: (Date.now() - t0) / 1000, ok: false });
        throw error;
      }
      steps.push({ step: name, seconds: (Date.now() - t0) / 1000, ok: true });
    },
    /**
     * A screenshot of what ``person`` sees (and, with ``docs``, the README's picture); every
     * ``card`` is also checked with axe-core: a serious or critical finding in it fails the
     * journey. ``phone`` (a docs name) adds the card at a phone's width (375 px).
     */
    async shot(person, name, { docs: docsName, card, phone } = {}) {
      let chatOnly = null;
      if (docs && docsName) {
        fs.mkdirSync(docs, { recursive: true });
        chatOnly = path.join(docs, `${docsName}.png`);
      }
      await person.screenshot(`${args.journey}-${name}`, card, chatOnly);
      if (card && phone) {
        const phoneFile = docs ? path.join(docs, `${phone}.png`) : null;
        await person.phoneScreenshot(`${args.journey}-${name}-phone`, card, phoneFile);
      }
      if (card) {
        const failing = await axe.check(person.page, card, `${args.journey}-${name}`);
        if (failing.length) {
          throw new Error(
            `axe-core: serious or critical accessibility problems in ${name}:\n` +
              JSON.stringify(failing, null, 2),
          );
        }
      }
    },
  };

  try {
    await JOURNEYS[args.journey](j);
  } catch (error) {
    failure = error;
    log(`FAILED: ${error.stack || error}`);
    for (const person of people) {
      if (person.page) {
        await person.screenshot(`${args.journey}-FAILED-${person.name.replace(/\W+/g, '-')}`).catch(() => {});
      }
    }
    for (const playground of playgrounds) {
      if (playground.output.trim()) log(`playground for ${playground.name} said:\n${playground.output.trim()}`);
      // Its own log of every activity it sent and every call it answered, kept for a look.
      const kept = path.join(shots, `${args.journey}-FAILED-${playground.name.replace(/\W+/g, '-')}-playground.log`);
      const own = playground.dir && path.join(playground.dir, 'playground.log');
      if (own && fs.existsSync(own)) {
        fs.mkdirSync(shots, { recursive: true });
        fs.copyFileSync(own, kept);
      }
    }
    log(`router saw: ${router.calls.join(', ') || 'nothing'}`);
  } finally {
    await cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const result = {
    journey: args.journey,
    ok: !failure,
    seconds: (Date.now() - started) / 1000,
    steps,
    axe: axe.summary(),
  };
  process.stdout.write(`E2E-RESULT ${JSON.stringify(result)}\n`);
  return failure ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  },
);
