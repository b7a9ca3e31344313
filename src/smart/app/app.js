/*
 * The medication review page (SMART on FHIR, fhirclient). Reads the recommendation from the service's
 * /api/v1/recommendations with the user's token, creates draft orders on the EHR's FHIR server with the
 * same token, records draft/decline feedback. Plain DOM: every text goes in through textContent.
 */
(function () {
  'use strict';
  var ATC = 'http://www.whocc.no/atc';
  var SHOWN_BY_DEFAULT = 8;
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'className') node.className = attrs[k];
      // Through the CSSOM: the page's Content-Security-Policy refuses inline style attributes.
      else if (k === 'style') Object.keys(attrs[k]).forEach(function (p) { node.style.setProperty(p, attrs[k][p]); });
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }
  function percent(p) { return (p * 100 < 1 && p > 0) ? '<1%' : Math.round(p * 100) + '%'; }
  function setStatus(text) { $('status').textContent = text; }
  function showNotice(text, kind) {
    var n = $('notice');
    n.textContent = '';
    n.className = 'notice ' + (kind || 'error');
    n.appendChild(typeof text === 'string' ? document.createTextNode(text) : text);
    n.hidden = false;
  }

  /** A failed request in words: the status and the first diagnostics of an OperationOutcome. */
  function describeError(e) {
    var status = e && (e.status || (e.response && e.response.status));
    var outcome = e && e.outcome;
    var text = outcome && outcome.issue ? outcome.issue.map(function (i) { return i.diagnostics || i.code; }).filter(Boolean).join('; ') : '';
    if (!text && e && e.message) text = e.message;
    return (status ? 'HTTP ' + status + (text ? ': ' : '') : '') + (text || 'no answer');
  }

  function signInAgain(client) {
    var again = el('a', { href: '/smart/launch?iss=' + encodeURIComponent(client ? client.state.serverUrl : '') , text: 'Sign in again' });
    var p = el('p', {}, ['Your session with the EHR has expired or was refused. ', again, ' (or reopen the app from the EHR).']);
    showNotice(p, 'error');
    setStatus('Signed out.');
  }

  /** What the granted scopes allow (SMART v2 `.c`, `.cruds`; v1 `.write` / `.*`). */
  function canCreateOrders(scope) {
    return (scope || '').split(/\s+/).some(function (s) {
      var m = /^(patient|user)\/(MedicationRequest|\*)\.(.+)$/.exec(s);
      if (!m) return false;
      return m[3] === 'write' || m[3] === '*' || (/^[cruds]+$/.test(m[3]) && m[3].indexOf('c') >= 0);
    });
  }

  function parseAppContext(raw) {
    if (!raw) return undefined;
    if (typeof raw === 'object') return raw;
    try { return JSON.parse(raw); } catch (e) { return undefined; }
  }

  function humanName(patient) {
    var n = (patient.name || [])[0] || {};
    if (n.text) return n.text;
    return [].concat(n.given || []).concat(n.family ? [n.family] : []).join(' ') || ('Patient ' + patient.id);
  }

  function renderBanner(patient) {
    var b = $('banner');
    b.textContent = '';
    var facts = [patient.gender, patient.birthDate ? 'born ' + patient.birthDate : null, 'id ' + patient.id].filter(Boolean).join(' · ');
    b.appendChild(el('strong', { text: humanName(patient) }));
    b.appendChild(el('span', { text: facts }));
    if (patient.deceasedBoolean || patient.deceasedDateTime) b.appendChild(el('span', { className: 'tag', text: 'Deceased' + (patient.deceasedDateTime ? ' ' + patient.deceasedDateTime.slice(0, 10) : '') }));
    b.hidden = false;
  }

  var STATUS_TEXT = { 'new': 'New', continued: 'Continued', drafted: 'Drafted' };
  var STATUS_HELP = { 'new': 'not current, not ordered', continued: 'the patient already takes this class', drafted: 'already ordered at this visit' };

  /**
   * Likely new classes first (what the clinician may order), then likely classes already taken or
   * ordered, then the rest; each group by probability, each item numbered by its overall rank.
   */
  function renderClasses(state) {
    var rec = state.rec;
    var list = $('class-list');
    list.textContent = '';
    var ranked = rec.labels.filter(function (l) { return l.probability !== undefined; });
    var rankOf = {};
    ranked.forEach(function (l, i) { rankOf[l.atc3] = i + 1; });
    var groups = [
      { title: 'Likely, not taken or ordered', items: ranked.filter(function (l) { return l.aboveThreshold && l.status === 'new'; }) },
      { title: 'Likely, already taken or ordered', items: ranked.filter(function (l) { return l.aboveThreshold && l.status !== 'new'; }) },
      { title: 'Below the threshold', items: ranked.filter(function (l) { return !l.aboveThreshold; }) },
    ];
    // Collapsed: the likely classes and any the alert suggested; expanded: all.
    groups.forEach(function (g) {
      var items = state.showAll || g.title !== 'Below the threshold' ? g.items : g.items.filter(function (l) { return state.highlight.has(l.atc3); });
      if (!items.length) return;
      list.appendChild(el('li', { className: 'group-heading', role: 'presentation' }, [el('h3', { text: g.title + ' (' + g.items.length + ')' })]));
      items.forEach(function (label) { list.appendChild(classItem(state, label, rankOf[label.atc3])); });
    });
    var more = $('show-all');
    var below = groups[2].items.length;
    more.hidden = below === 0;
    more.textContent = state.showAll ? 'Hide the classes below the threshold' : 'Show the ' + below + ' classes below the threshold';
    more.setAttribute('aria-expanded', state.showAll ? 'true' : 'false');
  }

  function classItem(state, label, rank) {
    var rec = state.rec;
    var threshold = rec.model.threshold;
    var suggestedByCard = state.highlight.has(label.atc3);
    var title = (label.name || label.atc3) + ' (' + label.atc3 + ')';
    var li = el('li', { className: 'class-item' + (suggestedByCard ? ' highlighted' : '') + (label.aboveThreshold ? ' likely' : ''), 'data-atc3': label.atc3 });
    var head = el('div', { className: 'class-head' }, [
      el('span', { className: 'rank', title: 'rank ' + rank + ' by probability', text: '#' + rank }),
      el('h3', { className: 'class-name', text: title }),
    ]);
    li.appendChild(head);
    var badges = el('div', { className: 'badges' }, [
      el('span', { className: 'badge status-' + label.status, title: STATUS_HELP[label.status], text: STATUS_TEXT[label.status] || label.status }),
      label.aboveThreshold ? el('span', { className: 'badge likely', text: 'Likely (above threshold)' }) : el('span', { className: 'badge unlikely', text: 'Below threshold' }),
      suggestedByCard ? el('span', { className: 'badge card', text: '★ Suggested by the alert' }) : null,
    ]);
    li.appendChild(badges);
    var p = label.probability;
    var bar = el('div', { className: 'bar', role: 'img', 'aria-label': 'Probability ' + percent(p) + ', threshold ' + percent(threshold) }, [
      el('div', { className: 'fill', style: { width: Math.max(0.5, p * 100).toFixed(1) + '%' } }),
      el('div', { className: 'threshold', style: { left: (threshold * 100).toFixed(1) + '%' }, title: 'threshold ' + percent(threshold) }),
    ]);
    li.appendChild(el('div', { className: 'prob' }, [bar, el('span', { className: 'prob-text', text: percent(p) })]));
    if (label.drugs && label.drugs.length) li.appendChild(el('p', { className: 'drugs', text: (label.status === 'drafted' ? 'Ordered: ' : 'Takes: ') + label.drugs.join('; ') }));
    if (label.product) li.appendChild(el('p', { className: 'product', text: 'Product: ' + (label.product.display || label.product.code) + ' — ' + label.product.because }));
    if (label.evidence && label.evidence.length) {
      var ev = el('ul', { className: 'evidence' });
      label.evidence.forEach(function (e) {
        var pts = Math.round(e.effect * 1000) / 10;
        ev.appendChild(el('li', { text: (pts >= 0 ? '+' : '−') + Math.abs(pts) + ' pts  ' + e.name + ' (' + e.kind + ')' }));
      });
      li.appendChild(el('details', { className: 'why' }, [el('summary', { text: 'Why the model ranks it here' }), ev,
        el('p', { className: 'help', text: 'Points: how much the probability drops when the model does not see that input. An association in the model, not a cause.' })]));
    }
    if (label.status === 'new' && !rec.deceased) li.appendChild(actions(state, label));
    var result = el('p', { className: 'result', role: 'status', 'aria-live': 'polite' });
    li.appendChild(result);
    var done = state.done[label.atc3];
    if (done) result.textContent = done;
    return li;
  }

  function actions(state, label) {
    var box = el('div', { className: 'actions' });
    var name = label.name || label.atc3;
    if (state.canCreate) {
      var create = el('button', { type: 'button', className: 'primary', text: 'Create draft order' });
      create.setAttribute('aria-label', 'Create a draft order for ' + name);
      create.addEventListener('click', function () { createDraft(state, label, create); });
      box.appendChild(create);
    }
    var id = 'reason-' + label.atc3;
    var select = el('select', { id: id });
    select.appendChild(el('option', { value: '', text: 'Choose a reason…' }));
    state.config.overrideReasons.forEach(function (r) { select.appendChild(el('option', { value: r.code, text: r.display })); });
    var decline = el('button', { type: 'button', text: 'Decline' });
    decline.setAttribute('aria-label', 'Decline ' + name);
    decline.addEventListener('click', function () { declineClass(state, label, select, decline); });
    box.appendChild(el('div', { className: 'decline' }, [el('label', { 'for': id, text: 'Decline because' }), select, decline]));
    return box;
  }

  function resultOf(state, atc3, text) {
    state.done[atc3] = text;
    var li = document.querySelector('[data-atc3="' + atc3 + '"] .result');
    if (li) li.textContent = text;
  }

  function feedback(state, body) {
    return callApi(state, '/api/v1/feedback', Object.assign({ fhirServer: state.client.state.serverUrl, patient: state.client.patient.id, outcomeTimestamp: new Date().toISOString() },
      state.appContext && state.appContext.hookInstance ? { hookInstance: String(state.appContext.hookInstance) } : {}, body));
  }

  function createDraft(state, label, button) {
    var client = state.client;
    var coding = [];
    if (label.product) coding.push({ system: label.product.system, code: label.product.code, display: label.product.display });
    coding.push({ system: ATC, code: label.atc3, display: label.name });
    var order = {
      resourceType: 'MedicationRequest', status: 'draft', intent: 'proposal',
      medicationCodeableConcept: { coding: coding, text: label.product && label.product.display ? label.product.display : (label.name || label.atc3) },
      subject: { reference: 'Patient/' + client.patient.id },
      authoredOn: new Date().toISOString(),
      note: [{ text: 'Drafted from the medication review app (' + state.rec.model.name + ' ' + state.rec.model.version + ', probability ' + percent(label.probability) + '). No dose proposed: set dose, route and frequency before signing.' }],
    };
    if (client.encounter.id) order.encounter = { reference: 'Encounter/' + client.encounter.id };
    var user = client.getFhirUser && client.getFhirUser();
    if (user && /^(Practitioner|PractitionerRole)\//.test(user)) order.requester = { reference: user };
    button.disabled = true;
    resultOf(state, label.atc3, 'Creating the draft order…');
    client.create(order).then(function (created) {
      var ref = 'MedicationRequest/' + created.id;
      resultOf(state, label.atc3, 'Draft order ' + ref + ' created in the EHR. Set the dose and sign it there.');
      return feedback(state, { atc3: label.atc3, outcome: 'accepted', draftOrder: ref, product: label.product ? { system: label.product.system, code: label.product.code, display: label.product.display } : undefined })
        .catch(function (e) { resultOf(state, label.atc3, 'Draft order ' + ref + ' created; the feedback could not be recorded (' + describeError(e) + ').'); });
    }, function (e) {
      button.disabled = false;
      resultOf(state, label.atc3, 'The EHR did not create the draft order (' + describeError(e) + ').');
    });
  }

  function declineClass(state, label, select, button) {
    if (!select.value) {
      resultOf(state, label.atc3, 'Choose a reason to decline.');
      select.focus();
      return;
    }
    button.disabled = true;
    feedback(state, { atc3: label.atc3, outcome: 'overridden', overrideReason: { code: select.value } }).then(function () {
      var reason = select.options[select.selectedIndex].text;
      resultOf(state, label.atc3, 'Declined: ' + reason + '. Recorded.');
    }, function (e) {
      button.disabled = false;
      resultOf(state, label.atc3, 'The decline could not be recorded (' + describeError(e) + ').');
    });
  }

  function renderInteractions(rec) {
    var list = $('interaction-list');
    list.textContent = '';
    var side = function (s) {
      var cls = (s.className || s.atc3) + ' (' + s.atc3 + ')';
      var role = s.role === 'suggested' ? 'suggested class' : s.role === 'drafted' ? 'ordered now' : (s.ended ? 'ended ' + s.ended.slice(0, 10) : 'current');
      return (s.drug === s.className || s.drug === s.atc3 ? cls : s.drug + ' — ' + cls) + ' [' + role + ']';
    };
    var SHOWN = 5;
    if (!rec.interactions.length) list.appendChild(el('li', { className: 'help', text: 'No interacting pairs among the current, drafted and suggested medications.' }));
    rec.interactions.forEach(function (i, n) {
      var item = el('li', n >= SHOWN ? { className: 'more-pair' } : {}, [el('span', { text: side(i.a) }), el('span', { className: 'with', text: ' interacts with ' }), el('span', { text: side(i.b) })]);
      item.hidden = n >= SHOWN;
      list.appendChild(item);
    });
    if (rec.interactions.length > SHOWN) {
      var toggle = el('button', { type: 'button', className: 'link-button', 'aria-expanded': 'false', text: 'Show all ' + rec.interactions.length + ' pairs' });
      toggle.addEventListener('click', function () {
        var open = toggle.getAttribute('aria-expanded') !== 'true';
        list.querySelectorAll('.more-pair').forEach(function (li) { li.hidden = !open; });
        toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
        toggle.textContent = open ? 'Show the first ' + SHOWN + ' pairs' : 'Show all ' + rec.interactions.length + ' pairs';
      });
      list.appendChild(el('li', { className: 'toggle' }, [toggle]));
    }
  }

  function codeList(title, codes) {
    if (!codes.length) return null;
    return el('div', { className: 'codes' }, [el('h4', { text: title + ' (' + codes.length + ')' }), el('ul', {}, codes.map(function (c) {
      return el('li', { text: c.text || ((c.name || c.code) + (c.name ? ' [' + c.code.replace(/^[a-z0-9]+:/, '') + ']' : '')) });
    }))]);
  }

  function renderTimeline(rec) {
    var list = $('visit-list');
    list.textContent = '';
    rec.timeline.slice().reverse().forEach(function (v) {
      var fresh = v.target && v.encounter === 'current';
      var when = fresh ? 'new visit, not yet in the record' : (v.start ? v.start.slice(0, 10) : 'date unknown');
      var meds = v.medications.map(function (m) { return { text: m.drug + (m.classes.length ? ' — ' + m.classes.map(function (c) { return c.name ? c.name + ' (' + c.code + ')' : c.code; }).join(', ') : ' — class not known to the model') + (m.status === 'draft' ? ' (draft)' : '') }; });
      var summary = el('summary', {}, [el('strong', { text: (v.target ? 'This visit · ' : '') + when }),
        el('span', { className: 'counts', text: ' ' + v.diagnoses.length + ' diagnoses, ' + v.procedures.length + ' procedures, ' + v.medications.length + ' medications' })]);
      var details = el('details', v.target ? { open: '' } : {}, [summary, codeList('Diagnoses', v.diagnoses), codeList('Procedures', v.procedures), codeList('Medications', meds)]);
      list.appendChild(el('li', { className: v.target ? 'visit target' : 'visit' }, [details]));
    });
  }

  function render(state) {
    var rec = state.rec;
    var model = $('model');
    model.textContent = '';
    model.appendChild(document.createTextNode(rec.model.name + ' ' + rec.model.version + ' · '));
    model.appendChild(el('a', { href: rec.model.card, target: '_blank', rel: 'noopener', text: 'Model card' }));
    var likely = rec.labels.filter(function (l) { return l.aboveThreshold; }).length;
    var target = rec.timeline[rec.timeline.length - 1];
    var forVisit = target && target.encounter === 'current' ? 'a new visit after the last recorded one (the EHR named no encounter)' : 'this visit' + (target && target.start ? ' (' + target.start.slice(0, 10) + ')' : '');
    $('classes-help').textContent = 'The model\'s probability for ' + forVisit + ' (#: rank among all classes). The vertical line on each bar marks the threshold (' + percent(rec.model.threshold) + '); '
      + likely + ' of ' + rec.labels.length + ' classes are above it.' + (state.highlight.size ? ' ★ marks the classes the alert suggested.' : '') + (rec.deceased ? ' The patient is recorded as deceased: nothing is suggested.' : '');
    var note = $('create-note');
    note.hidden = state.canCreate;
    note.textContent = state.canCreate ? '' : 'Creating draft orders is not available: the EHR did not grant this app permission to create MedicationRequests (scope patient/MedicationRequest.c). You can still review and decline.';
    renderClasses(state);
    renderInteractions(rec);
    renderTimeline(rec);
    $('content').hidden = false;
    setStatus('');
  }

  /** A service call with the user's token; a refused token is refreshed once, then the user signs in again. */
  function callApi(state, url, body) {
    var attempt = function () {
      return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + state.client.state.tokenResponse.access_token }, body: JSON.stringify(body) })
        .then(function (r) {
          return r.json().catch(function () { return undefined; }).then(function (json) {
            if (r.ok) return json;
            var err = new Error('the service answered HTTP ' + r.status);
            err.status = r.status;
            err.outcome = json;
            throw err;
          });
        });
    };
    return attempt().catch(function (e) {
      if ((e.status !== 401 && e.status !== 403) || state.refreshed || !state.client.state.tokenResponse.refresh_token) throw e;
      state.refreshed = true;
      return state.client.refresh().then(attempt);
    }).catch(function (e) {
      if (e.status === 401 || e.status === 403 || /refresh/i.test(String(e.message))) e.signIn = true;
      throw e;
    });
  }

  function start(client) {
    var token = client.state.tokenResponse || {};
    var state = {
      client: client, config: null, rec: null, showAll: false, done: {}, refreshed: false,
      canCreate: canCreateOrders(token.scope),
      appContext: parseAppContext(token.appContext),
      highlight: new Set(),
    };
    if (state.appContext && Array.isArray(state.appContext.suggested)) state.appContext.suggested.forEach(function (c) { state.highlight.add(String(c)); });
    $('show-all').addEventListener('click', function () { state.showAll = !state.showAll; renderClasses(state); });
    if (!client.patient.id) {
      showNotice('The EHR did not say which patient to review (no patient in the launch context). Open the app from a patient\'s chart.');
      setStatus('');
      return;
    }
    var banner = token.need_patient_banner === false ? Promise.resolve() : client.patient.read().then(renderBanner, function (e) {
      showNotice('The patient could not be read from the EHR (' + describeError(e) + ').');
    });
    var body = { fhirServer: client.state.serverUrl, patient: client.patient.id };
    if (client.encounter.id) body.encounter = client.encounter.id;
    fetch('/smart/config.json').then(function (r) { return r.json(); }).then(function (config) {
      state.config = config;
      return callApi(state, '/api/v1/recommendations', body);
    }).then(function (rec) {
      state.rec = rec;
      return banner.then(function () { render(state); });
    }).catch(function (e) {
      if (e.signIn) return signInAgain(client);
      setStatus('');
      showNotice('The recommendation could not be made (' + describeError(e) + ').');
    });
  }

  FHIR.oauth2.ready().then(start, function (e) {
    setStatus('');
    var again = el('a', { href: '/smart/launch' + location.search.replace(/[?&](code|state)=[^&]*/g, ''), text: 'start again' });
    showNotice(el('p', {}, ['Sign-in with the EHR did not complete (' + (e && e.message ? e.message : String(e)) + '). Open the app from the EHR again, or ', again, '.']));
  });
})();
