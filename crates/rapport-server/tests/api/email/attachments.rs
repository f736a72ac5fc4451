//! Files in the email fallback: a message's files go out as signed links
//! (never as attachments), and files attached to an emailed reply come
//! back into the thread.

use super::*;

both_backends!(files_go_out_as_links_and_come_back_with_replies);

async fn files_go_out_as_links_and_come_back_with_replies(backend: Backend) {
    let sink = SmtpSink::start();
    let Some(f) = Fixture::start(backend, Some(sink.url())).await else {
        return;
    };
    let ann = f.contact("u1", Some("ann@example.com")).await;
    let (conversation, _) = f.send(&ann, None, "Here is your invoice").await;
    let text = "Invoice 42 <b>paid</b>\n";
    let uploaded = f
        .app
        .client
        .post(format!(
            "{}/api/v1/attachments?name=invoice%2042.txt",
            f.app.base
        ))
        .bearer_auth(&f.app.owner.api_token)
        .body(text)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let id = uploaded["id"].as_str().unwrap().to_owned();
    let sent = f
        .app
        .post(
            &format!("/api/v1/conversations/{conversation}/reply"),
            json!({"body": "", "attachment_ids": [id]}),
        )
        .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    f.advance(10 * MINUTE);
    f.run_jobs().await;
    let email = sink.emails().last().unwrap().clone();
    assert!(
        email.parsed().attachments().next().is_none(),
        "links, not attachments"
    );
    let body = email.text();
    let prefix = format!(
        "https://chat.acme.test/files/{}/{id}/",
        f.app.owner.workspace_id
    );
    let line = body
        .lines()
        .find(|l| l.contains(&prefix))
        .unwrap_or_else(|| panic!("a link in {body}"));
    assert!(
        line.starts_with("[file] invoice 42.txt (23 bytes): "),
        "{line}"
    );
    assert!(email.html().contains("invoice 42.txt"));
    let path = &line[line.find("/files/").unwrap()..];
    let got = f
        .app
        .client
        .get(format!("{}{path}", f.app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.text().await.unwrap(), text);
    // A link with another token leads nowhere.
    let forged = format!("{}{}x", f.app.base, &path[..path.len() - 1]);
    assert_eq!(
        f.app.client.get(forged).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    // Ann replies with a file (and a logo shown inline, which stays out).
    let reply_to = email.reply_to();
    let raw = format!(
        "From: Ann Lee <ann@example.com>\r\nTo: {reply_to}\r\nSubject: Re: New message\r\nMessage-ID: <att1@mail.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe signed copy\r\n--b1\r\nContent-Type: text/plain; name=\"signed.txt\"\r\nContent-Disposition: attachment; filename=\"signed.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\nU2lnbmVkIGJ5IEFubgo=\r\n--b1\r\nContent-Type: image/png; name=\"logo.png\"\r\nContent-Disposition: inline; filename=\"logo.png\"\r\nContent-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--b1--\r\n"
    );
    let posted = f
        .app
        .post_raw("/api/v1/email/inbound", "message/rfc822", raw)
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    let detail = f
        .app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    let last = detail.body["parts"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["body"], "The signed copy");
    let files = last["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{last}");
    assert_eq!(files[0]["name"], "signed.txt");
    let file = f
        .app
        .client
        .get(format!(
            "{}/api/v1/attachments/{}",
            f.app.base,
            files[0]["id"].as_str().unwrap()
        ))
        .bearer_auth(&f.app.owner.api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(file.text().await.unwrap(), "Signed by Ann\n");
}
