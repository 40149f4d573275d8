// The playground: each turn is a streamed POST /v1/responses through the portal's same-origin gateway bridge, made as
// the signed-in key (the session cookie, never a key in the page), in a conversation created on the first turn.
(() => {
  const form = document.getElementById('playground');
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const gateway = form.dataset.gateway;
  const prices = JSON.parse(form.dataset.prices || '{}');
  const token = form.querySelector('input[name="__RequestVerificationToken"]').value;
  let conversation = null;
  let turns = 0;

  const post = (path, body) => fetch(gateway + path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'RequestVerificationToken': token },
    body: JSON.stringify(body),
  });

  const failure = async (response) => {
    try { return (await response.json()).error.message; } catch { return `HTTP ${response.status}`; }
  };

  const line = (role, text) => {
    const item = document.createElement('li');
    item.className = 'turn-' + role;
    const who = document.createElement('strong');
    who.textContent = role + ': ';
    const said = document.createElement('span');
    said.textContent = text;
    item.append(who, said);
    $('playground-transcript').append(item);
    return said;
  };

  async function* events(response) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
        if (data && data !== '[DONE]') yield JSON.parse(data);
      }
    }
  }

  const cost = (deployment, usage) => {
    const rate = prices[deployment];
    if (!rate || !usage) return '';
    return ((usage.input_tokens * rate[0] + usage.output_tokens * rate[1]) / 1e6).toFixed(6);
  };

  // What is left of the tightest request and token windows (x-ratelimit-remaining-*), or 'none' for a tenant without limits.
  const limits = (headers) => {
    const left = [['requests', headers.get('x-ratelimit-remaining-requests')], ['tokens', headers.get('x-ratelimit-remaining-tokens')]]
      .filter(([, value]) => value !== null).map(([name, value]) => `${value} ${name}`);
    return left.length ? left.join(', ') : 'none';
  };

  const record = (headers, usage) => {
    const cell = (text, numeric) => {
      const td = document.createElement('td');
      td.textContent = text ?? '';
      if (numeric) td.className = 'num';
      return td;
    };
    const deployment = headers.get('x-conversations-deployment');
    const row = document.createElement('tr');
    row.dataset.turn = String(turns);
    row.append(
      cell(String(turns)),
      cell(deployment),
      cell(headers.get('x-conversations-attempts'), true),
      cell(headers.get('x-conversations-cache')),
      cell(limits(headers)),
      cell(usage ? `${usage.input_tokens}/${usage.output_tokens}` : '', true),
      cell(cost(deployment, usage), true));
    row.lastChild.dataset.cost = '';
    document.querySelector('#playground-turns tbody').append(row);
  };

  const startConversation = async () => {
    const response = await post('/v1/conversations', { metadata: { source: 'portal-playground' } });
    if (!response.ok) throw new Error(await failure(response));
    conversation = (await response.json()).id;
    const link = $('playground-conversation');
    link.querySelector('a').href = '/portal/conversations/' + encodeURIComponent(conversation);
    link.querySelector('a').textContent = conversation;
    link.hidden = false;
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const message = form.elements.message.value.trim();
    if (!message) return;
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    $('playground-status').textContent = 'Streaming…';
    try {
      if (!conversation) await startConversation();
      const body = { input: message, stream: true, conversation };
      const model = form.elements.model.value;
      if (model) body.model = model;
      const prompt = form.elements.prompt.value.trim();
      if (prompt) body.prompt = { id: prompt };
      line('user', message);
      const response = await post('/v1/responses', body);
      if (!response.ok) throw new Error(await failure(response));
      turns += 1;
      const said = line('assistant', '');
      let usage = null;
      for await (const event of events(response)) {
        if (event.type === 'response.output_text.delta') said.textContent += event.delta;
        else if (event.type === 'response.completed') usage = event.response.usage;
        else if (event.type === 'error' || event.type === 'response.failed') throw new Error(event.message ?? event.response?.error?.message ?? 'The response failed.');
      }
      record(response.headers, usage);
      form.elements.message.value = '';
      $('playground-status').textContent = 'Done.';
    } catch (error) {
      $('playground-status').textContent = 'Failed: ' + error.message;
    } finally {
      button.disabled = false;
    }
  });
})();
