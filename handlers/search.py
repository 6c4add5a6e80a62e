"""求人を探す: the quick-reply search, results with paging, and the saved conditions (max 3)."""
from __future__ import annotations

from bot import conversation, messages, signed_links
from bot.jobs import reference, results as job_results, saved
from bot.jobs import search as job_search
from bot.router import Context, Router, choice, integer, words

FLOW = "search"
RENAME_FLOW = "search.rename"
ANY = "any"
STEPS = ("area", "occ", "emp")

EXPIRED = ("検索条件の入力の途中で時間が経ったため、入力内容はリセットされました。"
           "お手数ですが、もう一度「求人を探す」からお選びください。")
NOT_FOUND = ("この検索条件は見つかりませんでした。削除されたか、別の条件に置き換えられた可能性があります。"
             "「保存した条件」から確認してください。")


_qr_postback = job_results.quick_postback


def _step_choices(step: str) -> list[tuple[str, str]]:
    if step == "area":
        return [(code, name) for code, name in reference.MUNICIPALITIES.items()]
    if step == "occ":
        return list(reference.OCCUPATION_MAJOR_LABELS.items())
    return [(t, t) for t in reference.EMPLOYMENT_TYPES]


PROMPTS = {"area": "働きたい場所を選んでください。",
           "occ": "希望する職種を選んでください。",
           "emp": "希望する雇用形態を選んでください。"}


def _ask(step: str) -> list:
    items = [_qr_postback(label, "search.qr", s=step, c=value) for value, label in _step_choices(step)]
    items.append(_qr_postback("こだわらない", "search.qr", s=step, c=ANY))
    return [messages.text(PROMPTS[step], items)]


def _ask_words() -> list:
    return [messages.text("キーワードがあれば送ってください(例: 介護 夜勤なし)。\n"
                          "複数の言葉はスペースで区切ります。「OR」でどちらか、「-」を付けると除外です。\n"
                          "キーワードなしで探すときは「なし」を押してください。",
                          [{"type": "message", "label": "なし", "text": "なし"}])]


def menu(ctx: Context):
    form = signed_links.make(ctx.settings, "search-form", ctx.user.line_user_id, "/search/form")
    return messages.render("search_menu.json.j2", form_url=form)


def start_wizard(ctx: Context):
    conversation.start(ctx.session, ctx.user.id, FLOW, "area")
    return _ask("area")


def wizard_choice(ctx: Context):
    conv = conversation.active(ctx.session, ctx.user.id, ctx.now)
    step, value = ctx.params["s"], ctx.params["c"]
    if conv is None or conv.flow != FLOW or conv.step != step:
        return [messages.text(EXPIRED, [_qr_postback("求人を探す", "search.wizard")])]
    valid = {code for code, _ in _step_choices(step)} | {ANY}
    if value not in valid:
        return [messages.text(EXPIRED, [_qr_postback("求人を探す", "search.wizard")])]
    next_step = {"area": "occ", "occ": "emp", "emp": "words"}[step]
    conversation.advance(conv, next_step, **{step: None if value == ANY else value})
    return _ask_words() if next_step == "words" else _ask(next_step)


def wizard_words(ctx: Context):
    conv = ctx.conversation
    words = "" if ctx.text in ("なし", "無し", "ない") else ctx.text
    data = conv.data
    try:
        conditions = job_search.Conditions(
            municipalities=(data["area"],) if data.get("area") else (),
            occupation_major=data.get("occ"), employment_type=data.get("emp"), keywords=words)
    except job_search.ConditionError as exc:
        return [messages.text(exc.message + "\nもう一度キーワードを送ってください。")]
    conversation.finish(ctx.session, ctx.user.id)
    return results(ctx, conditions)


def results(ctx: Context, conditions: job_search.Conditions, page: int = 1, recent_id: int | None = None) -> list:
    return job_results.messages_for(ctx.session, ctx.user.id, conditions, page, recent_id)


def by_words(ctx: Context):
    """Free words offered back by the fallback (「介護」で求人を探す)."""
    try:
        conditions = job_search.Conditions(keywords=ctx.params["q"])
    except job_search.ConditionError as exc:
        return [messages.text(exc.message)]
    return results(ctx, conditions)


def _recent_conditions(ctx: Context):
    recent = saved.recent(ctx.session, ctx.user.id, ctx.params["r"])
    if recent is None:
        return None, None
    try:
        return recent, job_search.Conditions.from_dict(recent.conditions)
    except job_search.ConditionError:
        return None, None


def next_page(ctx: Context):
    recent, conditions = _recent_conditions(ctx)
    if recent is None:
        return [messages.text(EXPIRED, [_qr_postback("求人を探す", "search.wizard")])]
    return results(ctx, conditions, ctx.params["p"], recent.id)


def save_recent(ctx: Context):
    recent, conditions = _recent_conditions(ctx)
    if recent is None:
        return [messages.text(EXPIRED, [_qr_postback("求人を探す", "search.wizard")])]
    try:
        kept = saved.save(ctx.session, ctx.user.id, conditions)
    except saved.Full:
        return messages.render("saved_searches.json.j2", searches=saved.listing(ctx.session, ctx.user.id),
                               replace_recent=recent.id,
                               intro="保存できる検索条件は3件までです。置き換える条件を選んでください。")
    return [messages.text(f"検索条件を「{kept.name}」として保存しました。「保存した条件」からいつでも検索できます。",
                          [_qr_postback("保存した条件", "search.saved"),
                           _qr_postback("名前を変更", "search.rename", s=kept.id)])]


def replace_saved(ctx: Context):
    recent, conditions = _recent_conditions(ctx)
    target = saved.owned(ctx.session, ctx.user.id, ctx.params["s"])
    if recent is None or target is None:
        return [messages.text(NOT_FOUND)]
    old = target.name
    saved.replace(ctx.session, target, conditions)
    return [messages.text(f"「{old}」を「{target.name}」に置き換えて保存しました。",
                          [_qr_postback("保存した条件", "search.saved")])]


def list_saved(ctx: Context):
    searches = saved.listing(ctx.session, ctx.user.id)
    if not searches:
        return [messages.text("保存した検索条件はまだありません。求人を検索したあと、結果の最後にある"
                              "「この条件を保存」で3件まで保存できます。",
                              [_qr_postback("求人を探す", "search.wizard")])]
    return messages.render("saved_searches.json.j2", searches=searches, replace_recent=None,
                           intro=f"保存した検索条件({len(searches)}/3件)")


def run_saved(ctx: Context):
    target = saved.owned(ctx.session, ctx.user.id, ctx.params["s"])
    if target is None:
        return [messages.text(NOT_FOUND)]
    try:
        conditions = job_search.Conditions.from_dict(target.conditions)
    except job_search.ConditionError:
        return [messages.text(NOT_FOUND)]
    target.last_run_at = ctx.now
    return results(ctx, conditions)


def ask_rename(ctx: Context):
    target = saved.owned(ctx.session, ctx.user.id, ctx.params["s"])
    if target is None:
        return [messages.text(NOT_FOUND)]
    conversation.start(ctx.session, ctx.user.id, RENAME_FLOW, "name", {"saved_id": target.id})
    return [messages.text(f"「{target.name}」の新しい名前を{saved.MAX_NAME}文字以内で送ってください。",
                          [{"type": "message", "label": "やめる", "text": "やめる"}])]


def rename(ctx: Context):
    conversation.finish(ctx.session, ctx.user.id)
    if ctx.text in ("やめる", "キャンセル"):
        return [messages.text("名前の変更をやめました。")]
    target = saved.owned(ctx.session, ctx.user.id, ctx.conversation.data.get("saved_id", 0))
    if target is None:
        return [messages.text(NOT_FOUND)]
    name = "".join(ch for ch in ctx.text if ch.isprintable()).strip()
    if not 1 <= len(name) <= saved.MAX_NAME:
        conversation.start(ctx.session, ctx.user.id, RENAME_FLOW, "name", {"saved_id": target.id})
        return [messages.text(f"名前は1〜{saved.MAX_NAME}文字で送ってください(いまは{len(name)}文字です)。")]
    target.name = name
    return [messages.text(f"名前を「{name}」に変更しました。", [_qr_postback("保存した条件", "search.saved")])]


def delete_saved(ctx: Context):
    target = saved.owned(ctx.session, ctx.user.id, ctx.params["s"])
    if target is None:
        return [messages.text(NOT_FOUND)]
    if ctx.params.get("c") != "1":
        return [messages.text(f"保存した条件「{target.name}」を削除しますか?", [
            _qr_postback("削除する", "search.delete", s=target.id, c="1"),
            _qr_postback("やめる", "search.saved", text="削除をやめる")])]
    name = target.name
    saved.remove(ctx.session, target)
    return [messages.text(f"保存した条件「{name}」を削除しました。", [_qr_postback("保存した条件", "search.saved")])]


def register(router: Router) -> None:
    router.keyword("求人", "仕事を探", "検索")(menu)
    router.keyword("保存した条件", "保存条件")(list_saved)
    router.action("search.menu")(menu)
    router.action("search.wizard")(start_wizard)
    router.action("search.qr", s=choice(*STEPS), c=choice(ANY, *reference.MUNICIPALITIES,
                                                          *reference.OCCUPATION_MAJORS,
                                                          *reference.EMPLOYMENT_TYPES))(wizard_choice)
    router.step(FLOW, "words")(wizard_words)
    router.action("search.words", q=words(40))(by_words)
    router.action("search.page", r=integer(1), p=integer(2, job_search.MAX_PAGE))(next_page)
    router.action("search.save", r=integer(1))(save_recent)
    router.action("search.replace", s=integer(1), r=integer(1))(replace_saved)
    router.action("search.saved")(list_saved)
    router.action("search.run", s=integer(1))(run_saved)
    router.action("search.rename", s=integer(1))(ask_rename)
    router.step(RENAME_FLOW, "name")(rename)
    router.action("search.delete", optional=("c",), s=integer(1), c=choice("1"))(delete_saved)
