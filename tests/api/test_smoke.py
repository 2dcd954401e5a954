def test_declare_and_read_back(client, make_person):
    alice = make_person("responder")
    r = client.post("/api/v1/incidents", json={"title": "Checkout errors", "severity": "P1"}, headers=alice.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["ref"] == "INC-1" and body["severity"] == "SEV2"
    assert client.get("/api/v1/incidents/INC-1", headers=alice.headers).json()["id"] == body["id"]
