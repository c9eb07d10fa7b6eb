// Area pickers: every input with data-area-picker suggests areas while a code or name is typed (with or
// without diacritics). Several areas may be typed separated by ";" (the draft form): only the last part is
// looked up, and a choice replaces it by the area's code. Without JavaScript the field takes names and codes.
(function () {
  function attach(input, n) {
    var list = document.createElement("datalist");
    list.id = "area-suggestions-" + n;
    input.setAttribute("list", list.id);
    input.setAttribute("autocomplete", "off");
    input.after(list);
    var timer = null, asked = "";
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var value = input.value, cut = value.lastIndexOf(";");
        var head = cut >= 0 ? value.slice(0, cut + 1) + " " : "", part = value.slice(cut + 1).trim();
        if (part.length < 2 || part === asked || /^\d{2,5}$/.test(part) && part.length === 5) return;
        asked = part;
        fetch("/areas/suggest?q=" + encodeURIComponent(part), {credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (rows) {
            list.replaceChildren();
            rows.forEach(function (row) {
              var option = document.createElement("option");
              option.value = head + row.code;
              option.label = row.label;
              option.textContent = row.label;
              list.appendChild(option);
            });
          })
          .catch(function () {});
      }, 200);
    });
  }
  document.querySelectorAll("input[data-area-picker]").forEach(attach);
})();
