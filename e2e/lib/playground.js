'use strict';
// One Microsoft 365 Agents Playground per person: a config generated from the repository's
// .m365agentsplayground.yml (that person as currentUser), a temp working directory, a free port.
//
// What this Playground version (0.2.28) insists on, and what is done about it:
// - "users" must hold exactly 5 people: the first 5 other adults in the file are kept (pupils,
//   by config/demo-directory.json, are left out of the "Staff room" group chat).
// - a team has at most 1 channel besides General: each person gets the channel they belong to
//   (the DSL channel for the DSL and deputy DSL, the IT channel for IT), or none.
// - a person's id is set to their Entra object id: the bot opens 1:1 chats by object id (as
//   Teams allows), and the Playground finds a person's chat by the id given here.
// - one Playground is one signed-in person and keeps its chats in memory, so a journey with two
//   people runs two Playgrounds side by side; their --service-url points at the router
//   (router.js), which hands each of the bot's calls to the Playground(s) it concerns.

const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { spawn } = require('node:child_process');
const { parseYaml } = require('./yaml');

const REPO = path.resolve(__dirname, '..', '..');
const CLI = require.resolve('@microsoft/m365agentsplayground/cli.js');

function demoSchool() {
  const file = path.join(REPO, '.m365agentsplayground.yml');
  return parseYaml(fs.readFileSync(file, 'utf8'));
}

function person(raw) {
  return { ...raw, id: raw.aadObjectId };
}

/** A demo-directory person in the Playground's user shape. */
function fromDirectory(entry) {
  const [givenName, ...rest] = entry.name.split(' ');
  const email = `${givenName.toLowerCase()}.${rest.join('').toLowerCase()}@oakfield.example`;
  return person({
    name: entry.name,
    userPrincipleName: email,
    aadObjectId: entry.id,
    givenName,
    surname: rest.join(' '),
    email,
  });
}

/** The Playground config for ``name`` (from config/demo-directory.json, the whole demo school),
 * seeing only ``channelName`` (or none); tenant, bot and team come from the repository's
 * .m365agentsplayground.yml, which itself lists only the five people the Playground allows. */
function configFor(name, channelName) {
  const school = demoSchool();
  const directory = JSON.parse(fs.readFileSync(path.join(REPO, 'config', 'demo-directory.json'), 'utf8'));
  const everyone = directory.people.map(fromDirectory);
  const me = everyone.find((p) => p.name === name);
  if (!me) throw new Error(`${name} is not in config/demo-directory.json`);
  const pupils = new Set(
    directory.people.filter((p) => p.educationRole === 'student').map((p) => p.id),
  );
  const others = everyone.filter((p) => p !== me && !pupils.has(p.aadObjectId)).slice(0, 5);
  if (others.length !== 5) throw new Error('the Playground needs 5 other people');
  const team = directory.teams.find((t) => t.id === school.team.id) || directory.teams[0];
  const channels = (team.channels || []).filter((c) => c.name === channelName);
  if (channelName && channels.length !== 1) {
    throw new Error(`no channel ${channelName} in config/demo-directory.json`);
  }
  const key = me.aadObjectId.slice(-4);
  return {
    version: school.version,
    tenantId: school.tenantId,
    bot: school.bot,
    currentUser: me,
    users: others,
    personalChat: { id: `a:personal-${key}` },
    groupChat: { id: `19:group-${key}@thread.v2`, name: school.groupChat.name },
    team: {
      id: school.team.id,
      name: school.team.name,
      aadGroupId: school.team.aadGroupId,
      channels,
    },
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function get(url) {
  return new Promise((resolve) => {
    const request = http.get(url, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('error', () => resolve(0));
    request.setTimeout(2000, () => request.destroy());
  });
}

async function waitFor(check, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

class Playground {
  constructor({ name, channel, botEndpoint, router, workRoot, log }) {
    this.name = name;
    this.channel = channel || null;
    this.botEndpoint = botEndpoint;
    this.router = router;
    this.workRoot = workRoot;
    this.log = log;
    this.output = '';
    this.child = null;
  }

  async start() {
    this.config = configFor(this.name, this.channel);
    this.userId = this.config.currentUser.id;
    this.dir = fs.mkdtempSync(path.join(this.workRoot || os.tmpdir(), 'playground-'));
    fs.writeFileSync(
      path.join(this.dir, '.m365agentsplayground.yml'),
      // JSON is YAML: the Playground reads it as its usual config file.
      `# generated for ${this.name} by e2e/lib/playground.js\n${JSON.stringify(this.config, null, 2)}\n`,
    );
    this.port = await freePort();
    this.key = `p${this.port}`;
    const serviceUrl = this.router.register(this);
    const args = [
      CLI,
      '-e', this.botEndpoint,
      '-c', 'msteams',
      '-p', String(this.port),
      '--service-url', serviceUrl,
      '--disable-telemetry',
    ];
    this.child = spawn(process.execPath, args, {
      cwd: this.dir,
      env: {
        ...process.env,
        TEAMSAPPTESTER_BROWSER: 'none', // don't try to open a browser
        M365_AGENTS_PLAYGROUND_LOGFILE: path.join(this.dir, 'playground.log'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk) => {
      this.output += chunk.toString();
    };
    this.child.stdout.on('data', keep);
    this.child.stderr.on('data', keep);
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
    this.child.on('exit', (code, signal) => {
      this.child = null;
      if (!this.stopping) this.log(`playground for ${this.name} exited (${code ?? signal})`);
    });
    await waitFor(
      async () => {
        if (!this.child) throw new Error(`the Playground for ${this.name} stopped:\n${this.output}`);
        const listening = this.output.match(/Listening on (\d+)/);
        if (listening && Number(listening[1]) !== this.port) {
          throw new Error(`the Playground took port ${listening[1]}, not ${this.port}`);
        }
        return Boolean(listening) && (await get(`${this.url}/`)) === 200;
      },
      `the Playground for ${this.name}`,
      30000,
    );
    this.log(`playground for ${this.name} on ${this.url} (${this.dir})`);
    return this;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get connector() {
    return `${this.url}/_connector`;
  }

  hasChannel(id) {
    return this.config.team.channels.some((c) => c.id === id);
  }

  async stop() {
    this.stopping = true;
    if (!this.child) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child && this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

module.exports = { Playground, configFor, freePort, waitFor, REPO };
