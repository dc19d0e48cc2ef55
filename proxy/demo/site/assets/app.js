// First-party script of the demo site: it must keep working for visitors who
// opt out. It uses the tracker globals the way real site code does, which is
// why consentgate stubs them when it removes the vendors.
(function () {
  'use strict';
  function track(name) {
    if (typeof window.gtag === 'function') window.gtag('event', name);
    if (typeof window.fbq === 'function') window.fbq('trackCustom', name);
  }
  document.addEventListener('DOMContentLoaded', function () {
    var el = document.getElementById('counter');
    var btn = document.getElementById('bump');
    if (!el || !btn) return;
    var n = Number(localStorage.getItem('nw-events') || 0);
    var show = function () { el.textContent = n + ' events today'; };
    show();
    btn.addEventListener('click', function () {
      n += 1;
      localStorage.setItem('nw-events', String(n));
      show();
      track('bump');
    });
    document.documentElement.setAttribute('data-app', 'ready');
  });
})();
