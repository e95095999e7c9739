"""The mails of the application steps (submission, identity check, e-signature, contract).

Secrets (the eKYC URL's token, the signing code) go through ``{secret}``: the outbox keeps
them apart from the body and erases them once the mail has left.
"""

from __future__ import annotations

from loanflow.mail import MailTemplate

__all__ = [
    "APPLICATION_RECEIVED_MAIL",
    "CONTRACT_DONE_MAIL",
    "EKYC_REQUEST_MAIL",
    "ESIGN_MAIL",
]

_FOOTER = """
このメールにお心当たりのない場合は、お手数ですが破棄してください。
※このメールは送信専用です。ご返信いただいてもお答えできません。

ろうきん スマートフォンローン受付
"""

APPLICATION_RECEIVED_MAIL = MailTemplate(
    name="application_received",
    subject="【ろうきん】ローン申込受付のお知らせ",
    body="""{family_name} {given_name} 様

ローンのお申込みを受け付けました。

お申込み内容：{product_name}（{kind_name}）
受付日時：{submitted_at}
お申込み番号：{application_id}

審査結果は My Page のお申込み一覧でお知らせします。
"""
    + _FOOTER,
)

EKYC_REQUEST_MAIL = MailTemplate(
    name="ekyc_request",
    subject="【ろうきん】「本人確認」手続きのお願い",
    body="""{family_name} {given_name} 様

お申込み（お申込み番号：{application_id}）の本人確認をお願いします。
次のURLを開き、本人確認書類と顔写真を撮影してください。

本人確認URL：{base_url}{secret}
有効期限：{expires_at}（発行から3時間）

有効期限が過ぎた場合は、My Page のお申込み詳細からURLを再発行してください。
"""
    + _FOOTER,
)

ESIGN_MAIL = MailTemplate(
    name="esign_code",
    subject="【ろうきん】電子契約手続きのお願い",
    body="""{family_name} {given_name} 様

お申込み（お申込み番号：{application_id}）の審査が承認されました。
My Page から契約内容をご確認のうえ、次の署名コードで電子契約を行ってください。

署名コード：{secret}
入力期限：{deadline}（ご融資日の前営業日12時）
"""
    + _FOOTER,
)

CONTRACT_DONE_MAIL = MailTemplate(
    name="contract_done",
    subject="【ろうきん】ローン契約完了のお知らせ",
    body="""{family_name} {given_name} 様

ローンのご契約手続きが完了しました。

お申込み番号：{application_id}
ご融資予定日：{loan_date}

契約書は My Page のお申込み詳細（ファイル）からご覧いただけます。
"""
    + _FOOTER,
)
