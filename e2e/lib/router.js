'use strict';
// The connector router: what makes several one-person Playgrounds behave like one Teams.
//
// Each Playground tells the bot that its Bot Connector is at
// http://127.0.0.1:<router>/<key>/_connector. The bot's calls arrive here and go on, unchanged,
// to the real Playground connector(s) they concern:
// - a reply to something a person sent goes back to that person's Playground;
// - a new post in a channel goes to every Playground whose person is in that channel, and an
//   update of that post updates it in each of them (the router keeps each one's message id);
// - a new 1:1 chat goes to the Playground of the person it is with; a person with no Playground
//   open is not reachable (404), as when they are offline, and the bot tries again later;
// - anything else goes to the Playground the call names.
// Nothing here reads or changes what the bot sends.

const http = require('node:http');

class Router {
  constructor(log) {
    this.log = log;
    this.playgrounds = new Map(); // key -> Playground
    this.chats = new Map(); // conversation id -> Playground key
    this.posts = new Map(); // channel post id (as the bot knows it) -> Map(key -> id there)
    this.calls = [];
  }

  async start() {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((error) => {
        this.log(`router: ${error.stack || error}`);
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'RouterError', message: String(error) } }));
      });
    });
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this;
  }

  async stop() {
    if (this.server) await new Promise((resolve) => this.server.close(resolve));
    this.server = null;
  }

  /** Register a Playground; returns the service URL it must give the bot. */
  register(playground) {
    this.playgrounds.set(playground.key, playground);
    return `http://127.0.0.1:${this.port}/${playground.key}/_connector`;
  }

  unregister(playground) {
    this.playgrounds.delete(playground.key);
  }

  inChannel(channelId) {
    return [...this.playgrounds.values()].filter(
      (p) => p.hasChannel(channelId) || p.config.team.id === channelId,
    );
  }

  isChannel(conversationId) {
    return [...this.playgrounds.values()].some(
      (p) => p.hasChannel(conversationId) || p.config.team.id === conversationId,
    );
  }

  async handle(req, res) {
    const url = new URL(req.url, 'http://router');
    const match = url.pathname.match(/^\/([^/]+)\/_connector(\/.*)$/);
    const body = await new Promise((resolve, reject) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
    if (!match || !this.playgrounds.has(match[1])) {
      return send(res, 404, { error: { code: 'NotFound', message: `no Playground at ${url.pathname}` } });
    }
    const origin = this.playgrounds.get(match[1]);
    const rest = match[2] + url.search;
    const parts = match[2].split('/').map(decodeURIComponent); // ['', 'v3', 'conversations', id, ...]
    const json = body.length ? JSON.parse(body.toString()) : null;
    this.calls.push(`${req.method} ${match[2]}`);

    // A new conversation: a 1:1 chat with a person, or a new post in a channel.
    if (req.method === 'POST' && parts.length === 3 && parts[2] === 'conversations') {
      const channelId = json && json.isGroup && json.channelData && json.channelData.channel
        ? json.channelData.channel.id
        : null;
      if (channelId) return this.fanOutPost(req, res, rest, body, this.inChannel(channelId));
      const member = json && json.members && json.members[0] && json.members[0].id;
      const target = [...this.playgrounds.values()].find((p) => p.userId === member);
      if (!target) {
        return send(res, 404, {
          error: { code: 'ConversationNotFound', message: `no Playground is open for ${member}` },
        });
      }
      const answer = await forward(target, req.method, rest, body, req.headers);
      if (answer.status < 300) this.chats.set(JSON.parse(answer.body).id, target.key);
      return relay(res, answer);
    }

    if (parts[2] === 'conversations' && parts[4] === 'activities') {
      const conversation = parts[3];
      const channel = conversation.split(';')[0];
      const activityId = parts[5];
      if (this.isChannel(channel)) {
        if (req.method === 'POST' && !activityId) {
          return this.fanOutPost(req, res, rest, body, this.inChannel(channel));
        }
        if (activityId && this.posts.has(activityId) && req.method !== 'POST') {
          return this.fanOutChange(req, res, parts, url.search, body, activityId);
        }
      }
      const owner = this.chats.get(conversation);
      const target = (owner && this.playgrounds.get(owner)) || this.ownerOf(conversation) || origin;
      return relay(res, await forward(target, req.method, rest, body, req.headers));
    }

    return relay(res, await forward(origin, req.method, rest, body, req.headers));
  }

  ownerOf(conversation) {
    return [...this.playgrounds.values()].find(
      (p) => p.config.personalChat.id === conversation || p.config.groupChat.id === conversation,
    );
  }

  async fanOutPost(req, res, rest, body, targets) {
    if (!targets.length) {
      return send(res, 404, {
        error: { code: 'ConversationNotFound', message: 'nobody in that channel has a Playground open' },
      });
    }
    const answers = await Promise.all(
      targets.map((p) => forward(p, req.method, rest, body, req.headers)),
    );
    const failed = answers.find((a) => a.status >= 300);
    if (failed) return relay(res, failed);
    const ids = new Map(targets.map((p, i) => [p.key, JSON.parse(answers[i].body)]));
    const first = answers[0];
    const shown = JSON.parse(first.body);
    const postId = shown.activityId || shown.id;
    this.posts.set(
      postId,
      new Map([...ids].map(([key, value]) => [key, value.activityId || value.id])),
    );
    return relay(res, first);
  }

  async fanOutChange(req, res, parts, search, body, postId) {
    // The bot knows the post by the first copy's id; each Playground has its own.
    const copies = this.posts.get(postId);
    const answers = [];
    for (const [key, id] of copies) {
      const target = this.playgrounds.get(key);
      if (!target) continue; // that person has closed their Playground
      const path = ['', ...parts.slice(1, 5), id].map(encodeURIComponent).join('/') + search;
      let payload = body;
      if (body.length) {
        const activity = JSON.parse(body.toString());
        if (activity.id) activity.id = id;
        payload = Buffer.from(JSON.stringify(activity));
      }
      answers.push(await forward(target, req.method, path, payload, req.headers));
    }
    const failed = answers.find((a) => a.status >= 300);
    if (failed) return relay(res, failed);
    if (!answers.length) return send(res, 404, { error: { code: 'ActivityNotFound' } });
    return relay(res, answers[0]);
  }
}

function forward(playground, method, rest, body, headers) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${playground.connector}${rest}`,
      {
        method,
        headers: {
          'content-type': headers['content-type'] || 'application/json',
          ...(headers.authorization ? { authorization: headers.authorization } : {}),
          'content-length': body.length,
        },
      },
      (response) => {
        const chunks = [];
        response.on('data', (c) => chunks.push(c));
        response.on('end', () =>
          resolve({
            status: response.statusCode,
            type: response.headers['content-type'] || 'application/json',
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function relay(res, answer) {
  res.writeHead(answer.status, { 'content-type': answer.type });
  res.end(answer.body);
}

function send(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

module.exports = { Router };
