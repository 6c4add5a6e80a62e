// LINE simulator page: users, follow/block, sending, polling the conversation, taps, the rich menu and
// the datetime picker (a native date/time input in a dialog, answered with a postback as LINE does).
(function () {
  "use strict";

  var body, api, chat, userSelect, statusLine, textInput, sendButton, followButton, blockButton;
  var picker, pickerInput, pickerLabel, pickerTitle, pickerError, pickerAction = null;
  var currentUser = "";
  var count = 0;
  var blocked = true;
  var polling = null;
  var busy = false;

  function $(id) { return document.getElementById(id); }

  function setStatus(text) { statusLine.textContent = text || ""; }

  function request(method, path, payload) {
    var options = { method: method, headers: { "Accept": "application/json" } };
    if (payload !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    return fetch(api + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.message || ("エラー " + response.status)); }
        return data;
      });
    });
  }

  function updateControls() {
    var chosen = currentUser !== "";
    followButton.disabled = !chosen || !blocked;
    blockButton.disabled = !chosen || blocked;
    textInput.disabled = !chosen || blocked;
    sendButton.disabled = !chosen || blocked;
    body.classList.toggle("sim-blocked", chosen && blocked);
  }

  function loadUsers(select) {
    return request("GET", "/users").then(function (data) {
      userSelect.innerHTML = "";
      var empty = document.createElement("option");
      empty.value = "";
      empty.textContent = data.users.length ? "（選んでください）" : "（利用者を作成してください）";
      userSelect.appendChild(empty);
      data.users.forEach(function (user) {
        var option = document.createElement("option");
        option.value = user.userId;
        option.textContent = user.displayName + (user.blocked ? "（未追加・ブロック中）" : "");
        userSelect.appendChild(option);
      });
      if (select !== undefined) { userSelect.value = select; }
      else if (currentUser) { userSelect.value = currentUser; }
    });
  }

  function chooseUser(userId) {
    currentUser = userId;
    count = 0;
    chat.innerHTML = "";
    blocked = true;
    updateControls();
    if (currentUser) { poll(); }
  }

  function appendItem(item) {
    var row = document.createElement("div");
    row.className = "sim-item sim-from-" + item.from;
    row.innerHTML = item.html;  // rendered and escaped on the server (simulator.flex)
    chat.appendChild(row);
  }

  function poll() {
    if (!currentUser) { return Promise.resolve(); }
    var user = currentUser;
    return request("GET", "/" + encodeURIComponent(user) + "/messages?after=" + count).then(function (data) {
      if (user !== currentUser) { return; }
      if (data.count < count) { count = 0; chat.innerHTML = ""; return poll(); }
      data.items.forEach(appendItem);
      if (data.items.length) { chat.scrollTop = chat.scrollHeight; }
      count = data.count;
      blocked = data.blocked;
      updateControls();
    }).catch(function (error) { setStatus(error.message); });
  }

  // Taps made while an earlier one is still on its way are queued, never dropped: in LINE every tap
  // reaches the bot, in the order it was made.
  var queue = Promise.resolve();

  function act(path, payload, note) {
    if (!currentUser) { return Promise.resolve(); }
    var user = currentUser;
    queue = queue.then(function () {
      busy = true;
      setStatus(note || "送信中…");
      return request("POST", "/" + encodeURIComponent(user) + path, payload || {})
        .then(function (data) {
          setStatus("");
          if (data.blocked !== undefined) { blocked = data.blocked; }
          return poll();
        })
        .catch(function (error) { setStatus(error.message); })
        .then(function () { busy = false; updateControls(); });
    });
    return queue;
  }

  function showMenu(alias) {
    document.querySelectorAll(".sim-richmenu").forEach(function (menu) {
      menu.hidden = menu.getAttribute("data-alias") !== alias;
    });
  }

  function runAction(action) {
    if (!action || !action.type) { return; }
    if (action.type === "uri" && action.uri) {
      window.open(action.uri, "_blank", "noopener");
    } else if (action.type === "message") {
      act("/text", { text: action.text || action.label || "" });
    } else if (action.type === "postback") {
      act("/postback", { data: action.data || "", displayText: action.displayText || action.text || "" });
    } else if (action.type === "richmenuswitch") {
      showMenu(action.richMenuAliasId);
      // LINE also posts the switch's data to the webhook (the bot answers nothing).
      if (action.data && currentUser && !blocked) { act("/postback", { data: action.data }); }
    } else if (action.type === "datetimepicker") {
      openPicker(action);
    } else {
      setStatus("このアクション（" + action.type + "）はシミュレーターでは未対応です");
    }
  }

  // LINE's picker modes, the input that stands in for each, and LINE's value formats. LINE also
  // accepts a lower-case "t" in datetime values; the input needs "T".
  var PICKER_MODES = {
    date: { input: "date", label: "日付", title: "日付を選択", length: 10, pattern: /^\d{4}-\d{2}-\d{2}$/ },
    time: { input: "time", label: "時刻", title: "時刻を選択", length: 5, pattern: /^\d{2}:\d{2}$/ },
    datetime: { input: "datetime-local", label: "日時", title: "日時を選択", length: 16, pattern: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/ }
  };

  function pickerValue(mode, value) {
    var text = String(value || "").replace("t", "T");
    return PICKER_MODES[mode].pattern.test(text) ? text : "";
  }

  function openPicker(action) {
    var mode = PICKER_MODES[action.mode] ? action.mode : "datetime";
    var spec = PICKER_MODES[mode];
    pickerAction = { data: action.data || "", mode: mode };
    pickerInput.type = spec.input;
    if (mode === "date") { pickerInput.removeAttribute("step"); } else { pickerInput.step = "60"; }
    pickerInput.min = pickerValue(mode, action.min);
    pickerInput.max = pickerValue(mode, action.max);
    pickerInput.value = pickerValue(mode, action.initial);
    pickerTitle.textContent = spec.title;
    pickerLabel.textContent = spec.label;
    pickerError.textContent = "";
    picker.showModal();
    pickerInput.focus();
  }

  function range() {
    var parts = [pickerInput.min, pickerInput.max].map(function (v) { return v.replace("T", " "); });
    if (parts[0] && parts[1]) { return parts[0] + "〜" + parts[1] + "の間で選んでください"; }
    if (parts[0]) { return parts[0] + "以降を選んでください"; }
    return parts[1] + "までの間で選んでください";
  }

  function submitPicker(event) {
    event.preventDefault();
    if (!pickerAction) { picker.close(); return; }
    var spec = PICKER_MODES[pickerAction.mode];
    if (!pickerInput.value) {
      pickerError.textContent = spec.label + "を選んでください";
      return;
    }
    if (pickerInput.validity.rangeUnderflow || pickerInput.validity.rangeOverflow) {
      pickerError.textContent = range();
      return;
    }
    var params = {};
    params[pickerAction.mode] = pickerInput.value.slice(0, spec.length);  // no seconds, as LINE
    var data = pickerAction.data;
    pickerAction = null;
    picker.close();
    // LINE shows nothing in the chat for a picker: it only posts the choice to the webhook.
    act("/postback", { data: data, params: params });
  }

  function onTap(event) {
    var target = event.target.closest("[data-action]");
    if (!target) { return; }
    event.preventDefault();
    var action;
    try { action = JSON.parse(target.getAttribute("data-action")); } catch (e) { return; }
    if (action.type !== "richmenuswitch" && action.type !== "uri" && (!currentUser || blocked)) {
      setStatus("利用者を選んで友だち追加してください");
      return;
    }
    runAction(action);
  }

  function placeAreas() {
    // Positions come from the rich menu's bounds (percentages in data- attributes): no inline styles.
    document.querySelectorAll(".sim-area").forEach(function (area) {
      area.style.left = area.getAttribute("data-left") + "%";
      area.style.top = area.getAttribute("data-top") + "%";
      area.style.width = area.getAttribute("data-width") + "%";
      area.style.height = area.getAttribute("data-height") + "%";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    body = document.body;
    api = body.getAttribute("data-api");
    chat = $("sim-chat");
    userSelect = $("sim-user");
    statusLine = $("sim-status");
    textInput = $("sim-text");
    sendButton = $("sim-send");
    followButton = $("sim-follow");
    blockButton = $("sim-block");
    picker = $("sim-picker");
    pickerInput = $("sim-picker-input");
    pickerLabel = $("sim-picker-label");
    pickerTitle = $("sim-picker-title");
    pickerError = $("sim-picker-error");
    placeAreas();
    showMenu(body.getAttribute("data-default-alias"));
    $("sim-picker-form").addEventListener("submit", submitPicker);
    $("sim-picker-cancel").addEventListener("click", function () { pickerAction = null; picker.close(); });
    picker.addEventListener("close", function () { pickerAction = null; });

    $("sim-new-user").addEventListener("submit", function (event) {
      event.preventDefault();
      var name = $("sim-new-name").value;
      request("POST", "/users", { displayName: name }).then(function (user) {
        return loadUsers(user.userId).then(function () {
          chooseUser(user.userId);
          setStatus("「" + user.displayName + "」を作成しました。友だち追加してください");
        });
      }).catch(function (error) { setStatus(error.message); });
    });
    userSelect.addEventListener("change", function () { chooseUser(userSelect.value); });
    followButton.addEventListener("click", function () {
      act("/follow", {}, "友だち追加中…").then(function () { return loadUsers(); });
    });
    blockButton.addEventListener("click", function () {
      act("/block", {}, "ブロック中…").then(function () { return loadUsers(); });
    });
    $("sim-composer").addEventListener("submit", function (event) {
      event.preventDefault();
      var text = textInput.value;
      if (!text.trim()) { return; }
      textInput.value = "";
      act("/text", { text: text });
    });
    chat.addEventListener("click", onTap);
    $("sim-richmenus").addEventListener("click", onTap);

    loadUsers().then(updateControls);
    polling = window.setInterval(function () { if (!busy) { poll(); } }, 1000);
  });
})();
