import io

import models
from billing import DomainError, files
from tests import factories
from tests.conftest import csrf_token
from tests.core_support import opened


def test_contact_sees_and_downloads_only_shared_documents_of_their_client(client, auth, world,
                                                                          app):
    shared = factories.document(app, world["a"], "contract.pdf", invoice=world["invoices"]["sent"])
    hidden = factories.document(app, world["a"], "internal.pdf", is_public=False)
    theirs = factories.document(app, world["b"], "beta.pdf")
    auth.login("a1@alpha.example")
    listing = client.get("/client/documents").get_data(as_text=True)
    assert "contract.pdf" in listing and world["invoices"]["sent"].number in listing
    assert "internal.pdf" not in listing and "beta.pdf" not in listing
    response = client.get(f"/client/documents/{shared.public_id}/download")
    assert response.status_code == 200
    assert response.data == b"%PDF-1.4 test"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for doc in (hidden, theirs):
        assert client.get(f"/client/documents/{doc.public_id}/download").status_code == 404


def test_empty_state(client, auth, world):
    auth.login("b1@beta.example")
    assert "No documents have been shared" in client.get("/client/documents").get_data(
        as_text=True)


def test_refused_uploads_leave_nothing_behind(app, db):
    client_ = factories.client()
    for name, data, message in [("run.exe", b"MZ", "cannot be shared"),
                                ("empty.pdf", b"", "empty")]:
        try:
            files.store(app.config["UPLOAD_PATH"], client_, name, io.BytesIO(data))
        except DomainError as exc:
            assert message in exc.message
        else:
            raise AssertionError(f"{name} was accepted")
    assert models.Document.select().count() == 0
    import os
    assert not os.path.exists(app.config["UPLOAD_PATH"]) or os.listdir(
        app.config["UPLOAD_PATH"]) == []
    assert files.clean_filename('../../etc/"passwd"') == "passwd"


def test_staff_upload_and_share_toggle(client, app, world):
    with opened(app):
        factories.staff("boss@test.example")
    token = csrf_token(client, "/admin/login")
    client.post("/admin/login", data={"email": "boss@test.example",
                                      "password": factories.PASSWORD, "csrf_token": token})
    token = csrf_token(client, "/admin/documents/")
    response = client.post("/admin/documents/", data={
        "csrf_token": token, "client_id": str(world["a"].id), "is_public": "1",
        "file": (io.BytesIO(b"hello"), "notes.txt")}, content_type="multipart/form-data")
    assert response.status_code == 303
    with opened(app):
        doc = models.Document.get(models.Document.filename == "notes.txt")
        assert doc.is_public and doc.size == 5
    client.post(f"/admin/documents/{doc.id}/visibility", data={"csrf_token": token,
                                                              "is_public": "0"})
    with opened(app):
        assert not models.Document.get_by_id(doc.id).is_public


def test_a_document_whose_file_is_gone_says_so(client, auth, world, app):
    import os
    doc = factories.document(app, world["a"], "lost.pdf")
    os.remove(os.path.join(app.config["UPLOAD_PATH"], doc.storage_name))
    auth.login("a1@alpha.example")
    response = client.get(f"/client/documents/{doc.public_id}/download")
    assert response.status_code == 410
    assert "no longer available" in response.get_data(as_text=True).lower()
