/* Small behaviours every page may use, so templates carry no inline handler (the
 * Content-Security-Policy refuses them):
 *   data-autosubmit on a field   changing it submits its form (the language picker)
 */
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field && field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.submit();
    }
  });
})();
