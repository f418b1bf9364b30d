// The bulk-action bar's "N plugin instances selected", in the editor's language: Wagtail's
// bulk-actions script looks its strings up by the footer's item type.
(function () {
  var source = document.getElementById('wps-bulk-action-strings');
  if (source && window.wagtailConfig && window.wagtailConfig.STRINGS) {
    window.wagtailConfig.STRINGS.BULK_ACTIONS.PLUGIN_INSTANCE = JSON.parse(source.textContent);
  }
})();
