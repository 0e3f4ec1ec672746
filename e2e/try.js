#!/usr/bin/env node
'use strict';
// Try the bot by hand in the Microsoft 365 Agents Playground as one or more people of the demo
// school at once, each in their own Playground, joined up as one Teams by the router:
//
//   script/server                      # the bot, on 127.0.0.1:${PORT:-3978}
//   node e2e/try.js "Daniel Okafor" "Fiona Blake:DSL" "Nadia Khan:IT"
//
// "Name:Channel" also shows that person the DSL or IT channel. Open the printed addresses in a
// browser; Ctrl-C stops them all and removes their temporary folders. The bot is looked for on
// PORT (as script/server uses it, default 3978); BOT_ENDPOINT overrides the whole address.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Playground } = require('./lib/playground');
const { Router } = require('./lib/router');

/** The bot's messaging endpoint: BOT_ENDPOINT, else 127.0.0.1 on PORT (default 3978). */
function botEndpoint(env) {
  if (env.BOT_ENDPOINT) return env.BOT_ENDPOINT;
  const port = env.PORT || '3978';
  if (!/^\d{1,5}$/.test(port)) throw new Error(`PORT must be a port number, not "${port}"`);
  return `http://127.0.0.1:${port}/api/messages`;
}

async function main() {
  const people = process.argv.slice(2);
  if (!people.length) {
    process.stderr.write('usage: node e2e/try.js "Daniel Okafor" ["Fiona Blake:DSL" ...]\n');
    return 2;
  }
  const endpoint = botEndpoint(process.env);
  const log = (line) => process.stdout.write(`${line}\n`);
  // One temporary folder for every Playground's config and log, removed when we stop.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'online-safety-try-'));
  const router = await new Router(log).start();
  const playgrounds = [];
  let stopping = null;
  const stop = (code) => {
    stopping ||= (async () => {
      for (const playground of playgrounds) await playground.stop();
      await router.stop();
      fs.rmSync(work, { recursive: true, force: true });
      process.exit(code);
    })();
    return stopping;
  };
  process.once('SIGINT', () => stop(0));
  process.once('SIGTERM', () => stop(0));
  try {
    for (const who of people) {
      const [name, channel] = who.split(':');
      const playground = new Playground({
        name, channel, botEndpoint: endpoint, router, workRoot: work, log: () => {},
      });
      playgrounds.push(playground);
      await playground.start();
      log(`${name}${channel ? ` (with the ${channel} channel)` : ''}: ${playground.url}`);
    }
  } catch (error) {
    process.stderr.write(`${error.stack || error}\n`);
    await stop(1);
  }
  log(`talking to the bot at ${endpoint}; Ctrl-C to stop`);
  return null;
}

main().then(
  (code) => {
    if (code !== null) process.exit(code);
  },
  (error) => {
    process.stderr.write(`${error.stack || error}\n`);
    process.exit(1);
  },
);
