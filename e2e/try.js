#!/usr/bin/env node
'use strict';
// Try the bot by hand in the Microsoft 365 Agents Playground as one or more people of the demo
// school at once, each in their own Playground, joined up as one Teams by the router:
//
//   script/server                      # the bot, on 127.0.0.1:3978
//   node e2e/try.js "Daniel Okafor" "Fiona Blake:DSL" "Nadia Khan:IT"
//
// "Name:Channel" also shows that person the DSL or IT channel. Open the printed addresses in a
// browser; Ctrl-C stops them all. BOT_ENDPOINT overrides the bot's address.

const { Playground } = require('./lib/playground');
const { Router } = require('./lib/router');

async function main() {
  const people = process.argv.slice(2);
  if (!people.length) {
    process.stderr.write('usage: node e2e/try.js "Daniel Okafor" ["Fiona Blake:DSL" ...]\n');
    return 2;
  }
  const botEndpoint = process.env.BOT_ENDPOINT || 'http://127.0.0.1:3978/api/messages';
  const log = (line) => process.stdout.write(`${line}\n`);
  const router = await new Router(log).start();
  const playgrounds = [];
  const stop = async () => {
    for (const playground of playgrounds) await playground.stop();
    await router.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  for (const who of people) {
    const [name, channel] = who.split(':');
    const playground = new Playground({ name, channel, botEndpoint, router, log: () => {} });
    playgrounds.push(playground);
    await playground.start();
    log(`${name}${channel ? ` (with the ${channel} channel)` : ''}: ${playground.url}`);
  }
  log(`talking to the bot at ${botEndpoint}; Ctrl-C to stop`);
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
