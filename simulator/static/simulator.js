// LINE simulator page: users, follow/block, sending, polling the conversation, taps and the rich menu.
(function () {
  "use strict";

  var body, api, chat, userSelect, statusLine, textInput, sendButton, followButton, blockButton;
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

  function act(path, payload, note) {
    if (!currentUser || busy) { return Promise.resolve(); }
    busy = true;
    setStatus(note || "送信中…");
    return request("POST", "/" + encodeURIComponent(currentUser) + path, payload || {})
      .then(function (data) {
        setStatus("");
        if (data.blocked !== undefined) { blocked = data.blocked; }
        return poll();
      })
      .catch(function (error) { setStatus(error.message); })
      .then(function () { busy = false; updateControls(); });
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
      setStatus("日時選択（datetimepicker）はシミュレーターでは未対応です");
    } else {
      setStatus("このアクション（" + action.type + "）はシミュレーターでは未対応です");
    }
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
    placeAreas();
    showMenu(body.getAttribute("data-default-alias"));

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
