from perks.people.models import Role


def test_home_redirects_anonymous_to_login(client):
    assert client.get("/").status_code == 302


def test_employee_sees_home(client, login_as):
    login_as(Role.EMPLOYEE)
    response = client.get("/")
    assert response.status_code == 200
