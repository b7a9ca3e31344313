/* SMART launch: EHR launch (iss + launch) or standalone launch (iss only), PKCE required. */
(function () {
  'use strict';
  var status = document.getElementById('status');
  function fail(text) {
    status.textContent = text;
    status.className = 'error';
  }
  var params = new URLSearchParams(location.search);
  var iss = params.get('iss') || params.get('fhirServiceUrl');
  var launch = params.get('launch');
  if (!iss) {
    fail('This page is opened by your EHR (SMART launch). To start it yourself, add ?iss=<your FHIR server base URL> to the address.');
    return;
  }
  fetch('/smart/config.json').then(function (r) {
    if (!r.ok) throw new Error('the service answered HTTP ' + r.status + ' for its app settings');
    return r.json();
  }).then(function (config) {
    var options = {
      clientId: config.clientId,
      scope: launch ? config.scopes.ehr : config.scopes.standalone,
      redirectUri: '/smart/',
      pkceMode: 'required',
      iss: iss,
    };
    if (launch) options.launch = launch;
    return FHIR.oauth2.authorize(options);
  }).catch(function (e) {
    fail('Could not start sign-in with ' + iss + ': ' + (e && e.message ? e.message : String(e)));
  });
})();
